// The code tag: what is stored instead of a code. A keyed BLAKE2b-128 (code-tag subkey) over
//   "veribind.ct.v1" || challenge id (16) || purpose (1) || code length (1) || code digits,
// so a tag made for one challenge or purpose never matches another. 128 bits is far beyond the
// 10^10 space of codes; forging a tag without the key is a 2^-128 guess.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "veribind/challenge_id.hpp"
#include "veribind/purpose.hpp"
#include "veribind/secret.hpp"
#include "veribind/store.hpp"
#include "veribind/verifier.hpp"

namespace veribind::internal {

using CodeTag = std::array<std::uint8_t, ChallengeRecord::kTagBytes>;

// Precondition: code.size() <= VerifierConfig::kMaxCodeLength. No allocation.
inline CodeTag compute_code_tag(const SecretBytes& key, const ChallengeId& id, Purpose purpose,
                                std::string_view code) noexcept {
  static constexpr std::string_view kDomain = "veribind.ct.v1";
  std::array<std::uint8_t, kDomain.size() + ChallengeId::kBytes + 2 +
                               VerifierConfig::kMaxCodeLength>
      input{};
  std::size_t n = 0;
  std::memcpy(input.data(), kDomain.data(), kDomain.size());
  n += kDomain.size();
  std::memcpy(input.data() + n, id.bytes.data(), id.bytes.size());
  n += id.bytes.size();
  input[n++] = static_cast<std::uint8_t>(purpose);
  input[n++] = static_cast<std::uint8_t>(code.size());
  std::memcpy(input.data() + n, code.data(), code.size());
  n += code.size();
  CodeTag tag;
  const auto k = key.reveal();
  crypto_generichash(tag.data(), tag.size(), input.data(), n, k.data(), k.size());
  sodium_memzero(input.data(), input.size());  // it held the code
  return tag;
}

}  // namespace veribind::internal
