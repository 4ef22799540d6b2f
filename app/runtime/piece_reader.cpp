#include "piece_reader.h"

#include "folio/checksum.h"

#include <algorithm>
#include <condition_variable>
#include <istream>
#include <memory>
#include <mutex>
#include <streambuf>
#include <thread>
#include <vector>

namespace folio::app {

namespace {

// Pieces in flight: one being parsed, one being read, one ahead.
constexpr qint64 kSlots = 3;

// Buffers of one checksum piece, kept for the next restore: a fresh 8 MiB buffer costs its page
// faults (about 1.4 us a page on the reference VM, perf.md) on the reading thread, about a third of
// the time it takes to read the piece into it. The process keeps as many as one restore uses.
class PieceBuffers {
public:
    static constexpr std::size_t kKept = std::size_t(kSlots);
    static std::unique_ptr<char[]> take() {
        std::lock_guard lock(mutex());
        auto& f = kept();
        if (f.empty()) return std::make_unique_for_overwrite<char[]>(std::size_t(kChecksumPiece));
        auto b = std::move(f.back());
        f.pop_back();
        return b;
    }
    static void give(std::unique_ptr<char[]> b) {
        std::lock_guard lock(mutex());
        if (b && kept().size() < kKept) kept().push_back(std::move(b));
    }

private:
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
    static std::vector<std::unique_ptr<char[]>>& kept() {
        static std::vector<std::unique_ptr<char[]>> f;
        return f;
    }
};

// An input stream over a snapshot's payload that another thread reads into a few reused buffers,
// one per piece of the payload's checksum. The parser reads bytes as soon as they arrive (in steps
// of kReadStep, so that it starts after the first step, not after the first whole piece), and each
// piece is checksummed (chained, in order) once the parser has passed its end, before its buffer
// goes back to the reading thread. The parse is thus ahead of the verification: the caller must
// not use what it parsed unless finish() and the checksum agree. Reading into the same few
// buffers, not into one as large as the payload, spares the page faults of a fresh allocation of
// the payload's size.
class PieceStream : public std::streambuf {
public:
    static constexpr qint64 kReadStep = qint64(1) << 20;
    PieceStream(qint64 size, std::uint64_t seed)
        : size_(size), pieces_((size + kChecksumPiece - 1) / kChecksumPiece), sum_(seed) {
        for (qint64 i = 0; i < std::min(kSlots, pieces_); ++i) slots_[std::size_t(i)] = PieceBuffers::take();
    }
    ~PieceStream() override {
        for (auto& b : slots_) PieceBuffers::give(std::move(b));
    }
    qint64 pieces() const { return pieces_; }
    qint64 pieceBytes(qint64 i) const { return std::min(kChecksumPiece, size_ - i * kChecksumPiece); }

    // Called by the reading thread: the buffer for piece i once it is free; nullptr once the
    // stream has been stopped.
    char* slotFor(qint64 i) {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return i < released_ + kSlots || stopped_; });
        return stopped_ ? nullptr : slots_[std::size_t(i % kSlots)].get();
    }
    // Called by the reading thread: the first `bytes` of the payload are in their buffers.
    void filled(qint64 bytes, bool failed) {
        {
            std::lock_guard lock(mutex_);
            ready_ = bytes;
            failed_ = failed;
        }
        wake_.notify_all();
    }
    // Checksums whatever the parser did not consume, up to the end; false if the reader failed.
    bool finish() {
        while (piece_ < pieces_)
            if (!advance()) return false;
        return true;
    }
    // Releases a reading thread that waits for a buffer (the stream is done with all of them).
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        wake_.notify_all();
    }
    std::uint64_t sum() const { return sum_; }

protected:
    int_type underflow() override {
        if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
        if (piece_ >= pieces_ || !advance() || gptr() == egptr()) return traits_type::eof();
        return traits_type::to_int_type(*gptr());
    }

private:
    // Makes the next bytes readable: more of the current piece, or, at its end, checksums it,
    // gives its buffer back and moves to the next piece. False when the reader failed first.
    bool advance() {
        const qint64 pieceStart = piece_ * kChecksumPiece, pieceEnd = pieceStart + pieceBytes(piece_);
        char* slot = slots_[std::size_t(piece_ % kSlots)].get();
        if (served_ == pieceEnd) {
            sum_ = checksum64(slot, std::size_t(pieceEnd - pieceStart), sum_);
            {
                std::lock_guard lock(mutex_);
                released_ = ++piece_;
            }
            wake_.notify_all();
            setg(nullptr, nullptr, nullptr);
            return piece_ >= pieces_ || advance();
        }
        qint64 upTo = 0;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return ready_ > served_ || failed_; });
            if (ready_ <= served_) return false;
            upTo = std::min(ready_, pieceEnd);
        }
        setg(slot, slot + (served_ - pieceStart), slot + (upTo - pieceStart));
        served_ = upTo;
        return true;
    }

    const qint64 size_;
    const qint64 pieces_;
    std::unique_ptr<char[]> slots_[kSlots];
    // The parser's side only.
    qint64 piece_ = 0;  // the piece being served
    qint64 served_ = 0; // payload bytes handed out so far
    std::uint64_t sum_;
    std::mutex mutex_;
    std::condition_variable wake_;
    qint64 ready_ = 0;    // payload bytes read
    qint64 released_ = 0; // pieces whose buffer may be reused
    bool failed_ = false;
    bool stopped_ = false;
};

} // namespace

PieceRead readPieces(QFile& file, qint64 payloadBytes, std::uint64_t seed, const std::function<void(std::istream&)>& parse) {
    PieceStream stream(payloadBytes, seed);
    PieceRead result;
    std::thread reader([&] {
        qint64 total = 0;
        bool complete = true;
        for (qint64 i = 0; i < stream.pieces() && complete; ++i) {
            char* slot = stream.slotFor(i);
            if (!slot) break;
            const qint64 want = stream.pieceBytes(i);
            for (qint64 got = 0; got < want;) {
                const qint64 r = file.read(slot + got, std::min(PieceStream::kReadStep, want - got));
                if (r <= 0) {
                    complete = false;
                    break;
                }
                got += r;
                total += r;
                stream.filled(total, false);
            }
        }
        result.complete = total == payloadBytes && file.read(reinterpret_cast<char*>(&result.stored), 8) == 8;
        stream.filled(total, !result.complete);
    });
    {
        std::istream in(&stream);
        parse(in);
    }
    const bool verified = stream.finish();
    stream.stop();
    reader.join();
    result.complete = result.complete && verified;
    result.sum = stream.sum();
    return result;
}

} // namespace folio::app
