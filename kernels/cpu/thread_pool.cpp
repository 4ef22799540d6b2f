#include "folio/kernels/thread_pool.h"

namespace folio::kernels {

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::runTasks(int worker) {
    for (;;) {
        const std::int64_t task = next_.fetch_add(1, std::memory_order_relaxed);
        if (task >= jobSize_) break;
        job_(jobCtx_, task, worker);
    }
}

void ThreadPool::workerLoop(int index) {
    std::uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
        }
        runTasks(index);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (--busy_ == 0) done_.notify_one();
        }
    }
}

void ThreadPool::parallelFor(std::int64_t n, const std::function<void(std::int64_t, int)>& fn) {
    using Fn = std::function<void(std::int64_t, int)>;
    parallelFor(n, [](void* ctx, std::int64_t task, int worker) { (*static_cast<const Fn*>(ctx))(task, worker); },
                const_cast<Fn*>(&fn));
}

void ThreadPool::parallelFor(std::int64_t n, TaskFn fn, void* ctx) {
    if (n <= 0) return;
    if (workers_.empty() || n == 1) {
        for (std::int64_t i = 0; i < n; ++i) fn(ctx, i, 0);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = fn;
        jobCtx_ = ctx;
        jobSize_ = n;
        next_.store(0, std::memory_order_relaxed);
        busy_ = int(workers_.size());
        ++generation_;
    }
    wake_.notify_all();
    runTasks(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return busy_ == 0; });
    job_ = nullptr;
}

} // namespace folio::kernels
