// Store: where veribind keeps state, behind one small interface with several backends.
//
// Contract for every backend (tests/store/store_contract.hpp checks it against each):
// - Nothing passed in is plaintext personal data: identifiers arrive as blind indexes, codes as
//   keyed tags, rate-limit keys as keyed hashes. Account ids are the embedding backend's own
//   opaque ids.
// - Every operation is atomic on its own, across threads, and, for backends that are shared
//   (SQLite file, PostgreSQL), across processes: charge_attempt in particular never lets the
//   attempts of a challenge exceed its maximum, however many callers race.
// - Failures are values: kStoreError for a refused or failed operation, kUnavailable when the
//   backend cannot be reached. A failed operation changes nothing.
// - Every row has an expiry (challenges, counters) or an owner (bindings); purge_expired removes
//   what has expired.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/blind_index.hpp"
#include "veribind/challenge_id.hpp"
#include "veribind/clock.hpp"
#include "veribind/identifier.hpp"
#include "veribind/purpose.hpp"
#include "veribind/result.hpp"

namespace veribind {

// One live challenge, as stored. 88 bytes in memory.
struct ChallengeRecord {
  static constexpr std::size_t kTagBytes = 16;
  ChallengeId id;
  std::array<std::uint8_t, kTagBytes> code_tag{};  // keyed PRF of (id, purpose, code)
  BlindIndex index;        // of the identifier the code was sent to; its key version also
                           // names the code-tag key
  Timestamp expires_at{};  // the code is refused from this instant on
  Purpose purpose = Purpose::kSignup;
  Channel channel = Channel::kPhone;
  PhoneType phone_type = PhoneType::kUnknown;  // kUnknown for email
  std::array<char, 2> region{{'Z', 'Z'}};      // ISO 3166 region of a phone; "ZZ" for email
  std::uint8_t attempts = 0;                   // checks charged so far
  std::uint8_t max_attempts = 0;
  bool provider_canonical = false;  // an email canonicalized with provider rules (EmailOptions)

  bool operator==(const ChallengeRecord&) const = default;
};

enum class ChargeOutcome : std::uint8_t {
  kCharged,    // one attempt charged; the record (attempts included) is returned
  kNotFound,   // no such challenge (never existed, consumed, or purged)
  kExpired,    // exists, but now >= expires_at; nothing charged
  kExhausted,  // exists, but attempts == max_attempts; nothing charged
};

struct ChargeResult {
  ChargeOutcome outcome = ChargeOutcome::kNotFound;
  ChallengeRecord record;  // meaningful when outcome == kCharged
};

// A binding between an account and a verified identifier.
struct BindingRecord {
  std::string account_id;
  BlindIndex index;
  Channel channel = Channel::kPhone;
  Timestamp created_at{};
  // The contact, sealed by the Registry (LinkPolicy::retain_contact = kSealed); empty when none
  // is retained. Opaque to the store: ciphertext whose data key lives in a ContactKeyStore.
  std::vector<std::uint8_t> sealed_contact;
};

// Where a listing of bindings resumes: after the binding (account_id, channel), in that order.
struct BindingCursor {
  std::string account_id;  // empty: from the start
  Channel channel = Channel::kPhone;
};

// What still uses one key version (Store::key_version_usage).
struct KeyVersionUsage {
  std::size_t bindings = 0;    // bindings whose blind index was made under it
  std::size_t challenges = 0;  // live challenges (not expired at `now`) made under it
};

enum class BindOutcome : std::uint8_t {
  kBound,
  kIdentifierFull,     // the identifier already holds max_accounts accounts
  kAccountHasBinding,  // the account already has a binding on this channel
};

struct PurgeCounts {
  std::size_t challenges = 0;
  std::size_t counters = 0;
};

// A rate-limit counter key: a keyed hash chosen by the caller.
using CounterKey = std::array<std::uint8_t, 32>;

class Store {
 public:
  virtual ~Store() = default;

  // --- challenges ---
  // Inserts a new challenge. kStoreError if the id exists already.
  virtual Status create_challenge(const ChallengeRecord& record) = 0;
  // Atomically: if the challenge exists, now < expires_at and attempts < max_attempts, increments
  // attempts and returns the record as it is after the increment. Otherwise says why not.
  virtual Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now) = 0;
  // Removes the challenge; true if this call removed it (exactly one caller ever gets true).
  virtual Result<bool> consume_challenge(const ChallengeId& id) = 0;
  // The challenge as stored, or nullopt. Does not charge an attempt.
  virtual Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) = 0;
  // Replaces the code tag and expiry of a live challenge (resend); attempts are kept, so a resend
  // never buys more guesses. false if the challenge is gone or expired at `now`.
  virtual Result<bool> reissue_challenge(const ChallengeId& id,
                                         const std::array<std::uint8_t, 16>& code_tag,
                                         Timestamp expires_at, Timestamp now) = 0;

  // --- rate-limit counters ---
  // Atomically: if the counter exists and now < its window end, increments it; otherwise starts
  // it at 1 with window end `window_end`. Returns the count after the increment.
  virtual Result<std::uint32_t> increment_counter(const CounterKey& key, Timestamp window_end,
                                                  Timestamp now) = 0;

  // --- bindings ---
  // Inserts the binding unless the identifier already holds `max_accounts` accounts or the
  // account already has a binding on the same channel; the check and the insert are one atomic
  // step.
  virtual Result<BindOutcome> insert_binding(const BindingRecord& binding,
                                             std::uint32_t max_accounts) = 0;
  // Account ids bound to `index` (exact match, including key version), oldest first.
  virtual Result<std::vector<std::string>> find_accounts(const BlindIndex& index) = 0;
  // Removes every binding of the account; returns how many.
  virtual Result<std::size_t> delete_bindings(std::string_view account_id) = 0;

  // --- retention ---
  // Removes challenges and counters whose expiry is <= now, at most `batch` rows of each kind per
  // call (call again while it returns a full batch).
  virtual Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch = 10000) = 0;

  // --- sealed contacts and key rotation (issue 5) ---
  // insert_binding, with the identifier's capacity counted across every index in
  // `same_identifier` too: the blind indexes of the same identifier under other key versions, so
  // that a binding made under an old version still counts. Check and insert are one atomic step.
  virtual Result<BindOutcome> insert_binding_across(const BindingRecord& binding,
                                                    std::span<const BlindIndex> same_identifier,
                                                    std::uint32_t max_accounts) = 0;
  // Every binding of the account, sealed contact included, ordered by channel.
  virtual Result<std::vector<BindingRecord>> bindings_of_account(std::string_view account_id) = 0;
  // Up to `limit` bindings whose index has key version `key_version`, ordered by (account_id,
  // channel) and strictly after `after`: a batch for re-indexing.
  virtual Result<std::vector<BindingRecord>> bindings_with_key_version(std::uint32_t key_version,
                                                                       const BindingCursor& after,
                                                                       std::size_t limit) = 0;
  // Atomically: if the account's binding on `channel` still has index `from`, replaces its index
  // with `to` and its sealed contact with `sealed_contact` (empty: none). false if the binding is
  // gone or has another index by now (nothing changed).
  virtual Result<bool> reindex_binding(std::string_view account_id, Channel channel,
                                       const BlindIndex& from, const BlindIndex& to,
                                       std::span<const std::uint8_t> sealed_contact) = 0;
  // How many bindings, and live challenges at `now`, use key version `key_version`.
  virtual Result<KeyVersionUsage> key_version_usage(std::uint32_t key_version, Timestamp now) = 0;
};

// In-process store: sharded hash tables, each behind its own mutex. The hot path of check():
// one shard lock, one probe, no allocation. About 100 bytes per live challenge.
class MemoryStore final : public Store {
 public:
  MemoryStore();
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  Status create_challenge(const ChallengeRecord& record) override;
  Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now) override;
  Result<bool> consume_challenge(const ChallengeId& id) override;
  Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) override;
  Result<bool> reissue_challenge(const ChallengeId& id,
                                 const std::array<std::uint8_t, 16>& code_tag, Timestamp expires_at,
                                 Timestamp now) override;
  Result<std::uint32_t> increment_counter(const CounterKey& key, Timestamp window_end,
                                          Timestamp now) override;
  Result<BindOutcome> insert_binding(const BindingRecord& binding,
                                     std::uint32_t max_accounts) override;
  Result<std::vector<std::string>> find_accounts(const BlindIndex& index) override;
  Result<std::size_t> delete_bindings(std::string_view account_id) override;
  Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch = 10000) override;
  Result<BindOutcome> insert_binding_across(const BindingRecord& binding,
                                            std::span<const BlindIndex> same_identifier,
                                            std::uint32_t max_accounts) override;
  Result<std::vector<BindingRecord>> bindings_of_account(std::string_view account_id) override;
  Result<std::vector<BindingRecord>> bindings_with_key_version(std::uint32_t key_version,
                                                               const BindingCursor& after,
                                                               std::size_t limit) override;
  Result<bool> reindex_binding(std::string_view account_id, Channel channel, const BlindIndex& from,
                               const BlindIndex& to,
                               std::span<const std::uint8_t> sealed_contact) override;
  Result<KeyVersionUsage> key_version_usage(std::uint32_t key_version, Timestamp now) override;

  // Live challenges held (expired ones included until purged).
  [[nodiscard]] std::size_t challenge_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veribind
