// How an SMS text is encoded on the air interface, and how many segments it costs.
//
// A text whose every character is in the GSM 03.38 default alphabet (the basic table, or the
// extension table at two septets each) travels as GSM-7: 160 septets in a single message, 153 per
// part of a concatenated one (the user data header takes the rest). Any other character (Urdu,
// emoji, '`') makes the whole text UCS-2: 70 16-bit units single, 67 per part, a character
// beyond the Basic Multilingual Plane taking two units (a surrogate pair). Each segment is
// billed as one message, and a multi-part message may arrive out of order or partly, so codes
// should fit in one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace veribind {

enum class SmsAlphabet : std::uint8_t { kGsm7, kUcs2 };

[[nodiscard]] std::string_view sms_alphabet_name(SmsAlphabet alphabet) noexcept;  // "gsm-7"...

struct SmsEncoding {
  SmsAlphabet alphabet = SmsAlphabet::kGsm7;
  std::size_t units = 0;     // GSM-7 septets, or UCS-2 16-bit units
  std::size_t segments = 1;  // messages billed; an empty text is still one message
};

inline constexpr std::size_t kGsm7SingleSegment = 160;
inline constexpr std::size_t kGsm7PerPart = 153;
inline constexpr std::size_t kUcs2SingleSegment = 70;
inline constexpr std::size_t kUcs2PerPart = 67;

// Never fails. Bytes that are not valid UTF-8 count as one UCS-2 unit each (a gateway would
// substitute a replacement character). The count of parts ignores that a gateway may not split
// an extension character's escape from it, which can cost one septet per part boundary.
[[nodiscard]] SmsEncoding sms_encoding(std::string_view utf8) noexcept;

}  // namespace veribind
