#include "veribind/challenge_id.hpp"

#include <sodium.h>

#include "internal/hex.hpp"
#include "internal/sodium.hpp"

namespace veribind {

ChallengeId ChallengeId::random() {
  internal::ensure_sodium();
  ChallengeId id;
  randombytes_buf(id.bytes.data(), id.bytes.size());
  return id;
}

Result<ChallengeId> ChallengeId::parse(std::string_view text) {
  ChallengeId id;
  if (!internal::from_hex(text, id.bytes)) {
    return Status(ErrorCode::kInvalidChallengeId, "challenge id must be 32 hexadecimal characters");
  }
  return id;
}

std::string ChallengeId::to_string() const { return internal::to_hex(bytes); }

}  // namespace veribind
