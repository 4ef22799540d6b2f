// Reading a snapshot's payload on a second thread while the caller parses it. The payload's checksum
// is chained over pieces of kChecksumPiece bytes (folio/checksum.h): the reading thread fills a few
// reused buffers of one piece each, in steps of a mebibyte; the caller's parser sees bytes as soon
// as a step has arrived, and each piece is checksummed once the parser has passed its end (or, for
// what it leaves unread, after it returns), before its buffer goes back to the reading thread.
#pragma once

#include <QFile>

#include <cstdint>
#include <functional>
#include <iosfwd>

namespace folio::app {

inline constexpr qint64 kChecksumPiece = qint64(8) << 20;

struct PieceRead {
    bool complete = false;    // the payload and the 8-byte checksum after it were read in full
    std::uint64_t sum = 0;    // the chained checksum of the payload's pieces (seeded as asked)
    std::uint64_t stored = 0; // the checksum stored after the payload
};

// Reads `payloadBytes` from `file` (positioned at the payload), then the stored checksum, while
// `parse` reads the payload from the stream it is given. The parse runs ahead of the verification:
// what it made counts only if the result is complete and sum == stored.
PieceRead readPieces(QFile& file, qint64 payloadBytes, std::uint64_t seed, const std::function<void(std::istream&)>& parse);

} // namespace folio::app
