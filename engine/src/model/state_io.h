// The byte stream of a sequence state (folio::Sequence::save/restore):
//   "FOLIOSEQ" | u32 version | u64 model fingerprint | i64 position | u32 layers
//   per layer: i32 ratio | window [W*hd] f32 | compressor | indexer
//   compressor: i32 dim | i32 width | curA curG [ratio*width] | prevA prevG (ratio 4) | i64 count | entries
//   u32 MTP blocks | their windows [W*hd] f32
//   u64 checksum64 (folio/checksum.h) chained over every piece before it, in write order
// Little-endian, f32 entries. A stream from another model, a wrong version, a truncated stream or a
// checksum mismatch is refused with a message saying which.
#pragma once

#include "folio/status.h"
#include "state.h"

#include <cstdint>
#include <iosfwd>

namespace folio::model {

inline constexpr std::uint32_t kStateFormatVersion = 1;

Status writeState(const SequenceState& s, std::uint64_t fingerprint, std::ostream& out);
Result<SequenceState> readState(const ModelConfig& cfg, std::uint64_t fingerprint, std::istream& in);

} // namespace folio::model
