// ChallengeId::parse on any text, and to_string on any 16 bytes.
//
// Properties: parse accepts exactly the 32-character hex strings (checked against an independent
// oracle), fails only with kInvalidChallengeId, and round-trips: to_string of a parsed id is the
// input in lower case and parses back to the same id; to_string of any id parses back to it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "veribind/challenge_id.hpp"

namespace {

using veribind::ChallengeId;
using veribind::ErrorCode;

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_canonical_text(std::string_view s) {
  if (s.size() != ChallengeId::kTextLength) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  bool well_formed = text.size() == ChallengeId::kTextLength;
  for (char c : text) well_formed = well_formed && is_hex(c);

  const auto parsed = ChallengeId::parse(text);
  FUZZ_CHECK(parsed.is_ok() == well_formed, "parse accepts exactly 32 hex characters");
  if (parsed) {
    const std::string printed = parsed->to_string();
    FUZZ_CHECK(printed == lower(text), "to_string is the parsed text in lower case");
    const auto again = ChallengeId::parse(printed);
    FUZZ_CHECK(again.is_ok() && *again == *parsed, "parse(to_string(x)) == x");
  } else {
    FUZZ_CHECK(parsed.code() == ErrorCode::kInvalidChallengeId, "the only documented error");
    // Three digits: more than the fixed message holds, so a match can only be an echo.
    FUZZ_CHECK(veribind::fuzz::count_digits(text) < 3 ||
                   parsed.status().message().find(text) == std::string::npos,
               "the error does not repeat the input");
  }

  if (size >= ChallengeId::kBytes) {
    ChallengeId id;
    std::memcpy(id.bytes.data(), data, ChallengeId::kBytes);
    const std::string printed = id.to_string();
    FUZZ_CHECK(is_canonical_text(printed), "to_string is 32 lower-case hex characters");
    const auto again = ChallengeId::parse(printed);
    FUZZ_CHECK(again.is_ok() && *again == id, "any id survives to_string and parse");
  }
  return 0;
}
