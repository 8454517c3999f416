// The code tag: what is stored instead of a code. SipHash-2-4 with 128-bit output (libsodium's
// crypto_shorthash_siphashx24), keyed with the first 16 bytes of the code-tag subkey, over
//   "veribind.ct.v1" || challenge id (16) || purpose (1) || code length (1) || code digits,
// so a tag made for one challenge or purpose never matches another.
//
// Why SipHash and not BLAKE2b (used for blind indexes): the tag runs on every check(), the most
// frequent and most attacked call, and keyed BLAKE2b costs two 128-byte compressions (~340 ns
// here) where SipHash costs ~40 ns (bench: BM_Baseline_*). SipHash is a PRF designed for short
// inputs with a 128-bit key, which is all a tag needs: without the key, a stored tag is a 2^-128
// guess away from telling anything about its code; with the key, a 10^6 code space is open under
// any PRF, so a wider key or output would buy nothing. Collision resistance is not needed: the
// key is secret, and a 128-bit output makes two codes sharing a tag a 2^-100 event.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "internal/mac_count.hpp"
#include "veribind/challenge_id.hpp"
#include "veribind/purpose.hpp"
#include "veribind/secret.hpp"
#include "veribind/verification_store.hpp"

namespace veribind::internal {

// The longest code a tag is computed over (VerifierConfig::kMaxCodeLength says the same).
inline constexpr std::size_t kMaxCodeDigits = 10;

using CodeTag = std::array<std::uint8_t, ChallengeRecord::kTagBytes>;
static_assert(ChallengeRecord::kTagBytes == crypto_shorthash_siphashx24_BYTES);

// Preconditions: key.size() >= 16; code.size() <= kMaxCodeDigits. No allocation.
inline CodeTag compute_code_tag(const SecretBytes& key, const ChallengeId& id, Purpose purpose,
                                std::string_view code) noexcept {
  static constexpr std::string_view kDomain = "veribind.ct.v1";
  std::array<std::uint8_t, kDomain.size() + ChallengeId::kBytes + 2 + kMaxCodeDigits> input{};
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
  crypto_shorthash_siphashx24(tag.data(), input.data(), n, key.reveal().data());
  sodium_memzero(input.data(), input.size());  // it held the code
  ++mac_count;
  return tag;
}

}  // namespace veribind::internal
