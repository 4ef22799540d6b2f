// A fast 64-bit checksum for the formats Folio writes (sequence states, snapshots): 8 bytes a step,
// so that verifying a multi-gigabyte state costs a fraction of reading it. Not cryptographic; it
// catches corruption and truncation. Chained: checksum64(b, checksum64(a)) hashes a then b, and a
// reader must feed the same pieces in the same order as the writer did.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace folio {

inline constexpr std::uint64_t kChecksumSeed = 0x9e3779b97f4a7c15ull;

inline std::uint64_t checksum64(const void* data, std::size_t n, std::uint64_t h = kChecksumSeed) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    std::uint64_t tail = std::uint64_t(n - i) << 56;
    for (std::size_t k = 0; i + k < n; ++k) tail |= std::uint64_t(p[i + k]) << (8 * k);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

} // namespace folio
