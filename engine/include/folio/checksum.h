// A fast 64-bit checksum for the formats Folio writes (sequence states, snapshots): four 8-byte
// lanes a step, so that verifying a multi-gigabyte state costs a fraction of reading it. Not cryptographic; it
// catches corruption and truncation. Chained: checksum64(b, checksum64(a)) hashes a then b, and a
// reader must feed the same pieces in the same order as the writer did.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace folio {

inline constexpr std::uint64_t kChecksumSeed = 0x9e3779b97f4a7c15ull;

inline std::uint64_t checksum64(const void* data, std::size_t n, std::uint64_t h = kChecksumSeed) {
    // Four independent lanes of 8 bytes: the multiply chains run side by side, about four times
    // the speed of one chain (verifying a snapshot must not cost more than reading it).
    constexpr std::uint64_t kMul = 0xff51afd7ed558ccdull;
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t l0 = h, l1 = h ^ 0x632be59bd9b4e019ull, l2 = h ^ 0x85ebca77c2b2ae63ull, l3 = h ^ 0x27d4eb2f165667c5ull;
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        std::uint64_t w[4];
        std::memcpy(w, p + i, 32);
        l0 = (l0 ^ w[0]) * kMul;
        l1 = (l1 ^ w[1]) * kMul;
        l2 = (l2 ^ w[2]) * kMul;
        l3 = (l3 ^ w[3]) * kMul;
        l0 ^= l0 >> 29;
        l1 ^= l1 >> 29;
        l2 ^= l2 >> 29;
        l3 ^= l3 >> 29;
    }
    h = l0;
    for (std::uint64_t l : {l1, l2, l3}) {
        h = (h ^ l) * kMul;
        h ^= h >> 29;
    }
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * kMul;
        h ^= h >> 29;
    }
    std::uint64_t tail = std::uint64_t(n - i) << 56;
    for (std::size_t k = 0; i + k < n; ++k) tail |= std::uint64_t(p[i + k]) << (8 * k);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

} // namespace folio
