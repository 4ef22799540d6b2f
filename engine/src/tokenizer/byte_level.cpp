#include "byte_level.h"

#include "utf8.h"

namespace folio::tok {

std::string ByteLevel::encode(std::string_view bytes) const {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char b : bytes) appendUtf8(out, byteToChar[b]);
    return out;
}

std::optional<std::string> ByteLevel::decode(std::string_view spelling) const {
    const auto* s = reinterpret_cast<const unsigned char*>(spelling.data());
    std::string out;
    out.reserve(spelling.size());
    std::size_t i = 0;
    while (i < spelling.size()) {
        std::size_t sub;
        const std::size_t len = wellFormedLength(s + i, spelling.size() - i, &sub);
        if (len == 0) return std::nullopt;
        std::size_t l2;
        const int b = charToByte(decodeUtf8(s + i, &l2));
        if (b < 0) return std::nullopt;
        out.push_back(static_cast<char>(b));
        i += len;
    }
    return out;
}

} // namespace folio::tok
