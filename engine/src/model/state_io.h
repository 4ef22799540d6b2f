// The byte stream of a sequence state (folio::Sequence::save/restore):
//   "FOLIOSEQ" | u32 version | u64 model fingerprint | i64 position | i64 base position | u32 layers
//   per layer: i32 ratio | window [W*hd] f32 | compressor | indexer
//   compressor: i32 dim | i32 width | curA curG [ratio*width] | prevA prevG (ratio 4) | i64 count |
//               entries from index base / ratio to count
// A base position of 0 is a full state. A delta (base > 0) holds only the compressed entries made
// after the base position, plus the fixed-size parts (windows, carried rows); it applies to the same
// sequence's state at the base position. Compressed entries are append-only, so a chain of deltas
// costs the state's size once instead of once per checkpoint.
//   u32 MTP blocks | their windows [W*hd] f32
//   u64 checksum64 (folio/checksum.h) chained over every piece before it, in write order
// Little-endian, f32 entries. A stream from another model, a wrong version, a truncated stream or a
// checksum mismatch is refused with a message saying which.
#pragma once

#include "folio/status.h"
#include "state.h"

#include <cstddef>
#include <cstdint>
#include <iosfwd>

namespace folio::model {

inline constexpr std::uint32_t kStateFormatVersion = 2;

// basePos: 0 for a full state, else an earlier position of the same sequence (a delta).
Status writeState(const SequenceState& s, std::uint64_t fingerprint, std::ostream& out, std::int64_t basePos = 0);
// A delta needs `base`: the state at its base position (its entries are kept, the rest replaced).
// verifyChecksum false: the bytes were verified by the caller; the stored checksum is read, not
// recomputed (a second pass over a state of up to gigabytes).
// rewinding: `base` may have gone on past the delta's base position (the same sequence, tokens
// appended since the delta was saved), but not past the delta's position. The result then holds
// only the delta's own compressed entries; applyRewind puts it into `base` without copying the
// entries kept there.
Result<SequenceState> readState(const ModelConfig& cfg, std::uint64_t fingerprint, std::istream& in,
                                const SequenceState* base = nullptr, bool verifyChecksum = true,
                                bool rewinding = false);
// Takes `into` back to a state read with rewinding: compressed entries are append-only, so its
// first ones are still those before the mark; the later ones are dropped in place, the windows and
// carried rows replaced. Cannot fail: everything was checked by readState.
void applyRewind(SequenceState& into, SequenceState&& mark);

// From this many bytes of compressed entries (default 32 MiB) readState populates their pages on a
// second thread as well; tests lower it to run that path on small states.
void setSharedPopulationMinimum(std::size_t bytes);

} // namespace folio::model
