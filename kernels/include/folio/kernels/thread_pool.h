// A persistent pool of worker threads for the CPU ops. parallelFor splits [0, n) into `n` tasks
// handed out dynamically; the calling thread works too. Not reentrant: one parallelFor at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace folio::kernels {

class ThreadPool {
public:
    // threads <= 0: one per hardware thread.
    explicit ThreadPool(int threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return int(workers_.size()) + 1; }

    // Calls fn(task, worker) for task in [0, n); worker in [0, size()). Returns when all are done.
    void parallelFor(std::int64_t n, const std::function<void(std::int64_t task, int worker)>& fn);

    // The same with a plain function and its context, for the ISA-variant kernels (which keep
    // std::function, whose members would be compiled with their flags, out of their code).
    using TaskFn = void (*)(void* ctx, std::int64_t task, int worker);
    void parallelFor(std::int64_t n, TaskFn fn, void* ctx);

private:
    void workerLoop(int index);
    void runTasks(int worker);

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    TaskFn job_ = nullptr;
    void* jobCtx_ = nullptr;
    std::int64_t jobSize_ = 0;
    std::atomic<std::int64_t> next_{0};
    int busy_ = 0;
    std::uint64_t generation_ = 0;
    bool stop_ = false;
};

} // namespace folio::kernels
