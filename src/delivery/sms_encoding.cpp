#include "veribind/sms_encoding.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace veribind {
namespace {

// GSM 03.38 basic table, as Unicode code points, in table order (0x1B, the escape to the
// extension table, is left out: it is not a character).
constexpr std::array<char32_t, 127> kBasic = {
    U'@',      U'\u00A3', U'$',      U'\u00A5', U'\u00E8', U'\u00E9', U'\u00F9', U'\u00EC',
    U'\u00F2', U'\u00C7', U'\n',     U'\u00D8', U'\u00F8', U'\r',     U'\u00C5', U'\u00E5',
    U'\u0394', U'_',      U'\u03A6', U'\u0393', U'\u039B', U'\u03A9', U'\u03A0', U'\u03A8',
    U'\u03A3', U'\u0398', U'\u039E', U'\u00C6', U'\u00E6', U'\u00DF', U'\u00C9', U' ',
    U'!',      U'"',      U'#',      U'\u00A4', U'%',      U'&',      U'\'',     U'(',
    U')',      U'*',      U'+',      U',',      U'-',      U'.',      U'/',      U'0',
    U'1',      U'2',      U'3',      U'4',      U'5',      U'6',      U'7',      U'8',
    U'9',      U':',      U';',      U'<',      U'=',      U'>',      U'?',      U'\u00A1',
    U'A',      U'B',      U'C',      U'D',      U'E',      U'F',      U'G',      U'H',
    U'I',      U'J',      U'K',      U'L',      U'M',      U'N',      U'O',      U'P',
    U'Q',      U'R',      U'S',      U'T',      U'U',      U'V',      U'W',      U'X',
    U'Y',      U'Z',      U'\u00C4', U'\u00D6', U'\u00D1', U'\u00DC', U'\u00A7', U'\u00BF',
    U'a',      U'b',      U'c',      U'd',      U'e',      U'f',      U'g',      U'h',
    U'i',      U'j',      U'k',      U'l',      U'm',      U'n',      U'o',      U'p',
    U'q',      U'r',      U's',      U't',      U'u',      U'v',      U'w',      U'x',
    U'y',      U'z',      U'\u00E4', U'\u00F6', U'\u00F1', U'\u00FC', U'\u00E0',
};

// The extension table: each is sent as the escape 0x1B and one more septet.
constexpr std::array<char32_t, 10> kExtension = {
    U'\f', U'^', U'{', U'}', U'\\', U'[', U'~', U']', U'|', U'\u20AC',
};

// Septets for one code point in GSM-7: 1, 2, or 0 when it has none.
int gsm7_septets(char32_t c) noexcept {
  if (std::find(kBasic.begin(), kBasic.end(), c) != kBasic.end()) return 1;
  if (std::find(kExtension.begin(), kExtension.end(), c) != kExtension.end()) return 2;
  return 0;
}

// Decodes one UTF-8 sequence at `text[i]`; returns its length, or 0 if it is not valid UTF-8
// (overlong forms, surrogates and values past U+10FFFF included).
std::size_t decode_utf8(std::string_view text, std::size_t i, char32_t& out) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[i + k]); };
  const std::uint8_t b0 = byte(0);
  std::size_t len = 0;
  char32_t c = 0;
  char32_t min = 0;
  if (b0 < 0x80) {
    out = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, c = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, c = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, c = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
    c = (c << 6) | (byte(k) & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  out = c;
  return len;
}

std::size_t segments_for(std::size_t units, std::size_t single, std::size_t per_part) noexcept {
  if (units <= single) return 1;
  return (units + per_part - 1) / per_part;
}

}  // namespace

std::string_view sms_alphabet_name(SmsAlphabet alphabet) noexcept {
  switch (alphabet) {
    case SmsAlphabet::kGsm7: return "gsm-7";
    case SmsAlphabet::kUcs2: return "ucs-2";
  }
  return "unknown";
}

SmsEncoding sms_encoding(std::string_view utf8) noexcept {
  std::size_t septets = 0;
  std::size_t ucs2_units = 0;
  bool gsm7 = true;
  for (std::size_t i = 0; i < utf8.size();) {
    char32_t c = 0;
    const std::size_t len = decode_utf8(utf8, i, c);
    if (len == 0) {  // one replacement character per bad byte
      gsm7 = false;
      ucs2_units += 1;
      i += 1;
      continue;
    }
    i += len;
    ucs2_units += c > 0xFFFF ? 2 : 1;
    if (gsm7) {
      const int s = gsm7_septets(c);
      if (s == 0) {
        gsm7 = false;
      } else {
        septets += static_cast<std::size_t>(s);
      }
    }
  }
  if (gsm7) {
    return {SmsAlphabet::kGsm7, septets, segments_for(septets, kGsm7SingleSegment, kGsm7PerPart)};
  }
  return {SmsAlphabet::kUcs2, ucs2_units,
          segments_for(ucs2_units, kUcs2SingleSegment, kUcs2PerPart)};
}

}  // namespace veribind
