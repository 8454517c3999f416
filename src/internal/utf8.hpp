// Strict UTF-8 decoding, shared by every layer that checks text (audit legal requests, email
// headers): one decoder, so that what one layer accepts the other does too.
#pragma once

#include <cstddef>
#include <string_view>

namespace veribind::internal {

// Decodes the code point at s[i] (strict UTF-8: shortest form, no surrogates, <= U+10FFFF) into
// `cp`; returns its length in bytes, or 0 if the bytes there are not valid UTF-8.
// Precondition: i < s.size().
inline std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  std::size_t length = 0;
  char32_t min = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    length = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return length;
}

}  // namespace veribind::internal
