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
  BlindIndex index;                // of the identifier the code was sent to; its key version also
                                   // names the code-tag key
  std::uint16_t calling_code = 0;  // of a phone (92 for PK, 882 for a +882 network); 0 for email
  Timestamp expires_at{};          // the code is refused from this instant on
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

// A counter as it is after an operation: its count and the end of its window. {0, {}} for a
// counter that does not exist or whose window has ended.
struct CounterState {
  std::uint32_t count = 0;
  Timestamp window_end{};

  bool operator==(const CounterState&) const = default;
};

// One entry of the audit log of lawful lookups (Registry::disclose), as stored. The store keeps
// it as given; what the fields mean, and the MAC chain that makes tampering evident, belong to
// the account layer (veribind/audit.hpp). Entries are never updated or deleted.
struct AuditRecord {
  static constexpr std::size_t kMacBytes = 32;
  std::uint64_t sequence = 0;  // 1, 2, 3... in the order of appending
  Timestamp time{};
  std::string authority;
  std::string reference;
  std::string legal_basis;
  std::string requested_by;
  BlindIndex index;  // of the identifier asked about (never the identifier itself)
  Channel channel = Channel::kPhone;
  std::uint32_t accounts_returned = 0;
  std::uint32_t mac_key_version = 0;               // the audit subkey version of both MACs
  std::array<std::uint8_t, kMacBytes> prev_mac{};  // mac of entry sequence-1 (zeros for 1)
  std::array<std::uint8_t, kMacBytes> mac{};       // over all the fields above

  bool operator==(const AuditRecord&) const = default;
};

// The head of the audit log: how many entries it holds and the last one's MAC, itself MACed, so
// that dropping entries from the tail is evident. Replaced with every append.
struct AuditHead {
  std::uint64_t count = 0;  // == the last entry's sequence
  std::array<std::uint8_t, AuditRecord::kMacBytes> last_mac{};
  std::uint32_t mac_key_version = 0;
  std::array<std::uint8_t, AuditRecord::kMacBytes> mac{};  // over count, last_mac, version

  bool operator==(const AuditHead&) const = default;
};

enum class AuditAppendOutcome : std::uint8_t {
  kAppended,
  kConflict,  // the head's count is not entry.sequence - 1 (another append came first)
};

// What one kind of stored row is kept for, for how long, and what it reveals: fixed text, the
// same for every backend (src/store/row_kinds.cpp). One entry per kind a Store holds.
struct RowKindDescription {
  std::string_view kind;       // stable name: "challenges", "counters", "bindings", ...
  std::string_view retention;  // until when a row is kept
  std::string_view reveals;    // what one row tells whoever reads it, with and without the key
};

// The description of `kind`, or nullptr for a kind veribind does not know.
[[nodiscard]] const RowKindDescription* describe_row_kind(std::string_view kind) noexcept;

// How RowKindStats::bytes was obtained.
enum class BytesMethod : std::uint8_t {
  kMeasured,  // the pages the backend uses for the rows and their indexes (SQLite: dbstat)
  kEstimate,  // a per-row estimate from column and node sizes (documented in the backend)
};

// "measured" / "estimate".
[[nodiscard]] std::string_view bytes_method_name(BytesMethod method) noexcept;

// What a store holds of one kind of row, as of `now` (Store::retention_stats).
struct RowKindStats {
  std::string kind;  // a RowKindDescription::kind
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;  // rows plus their indexes; see bytes_method
  BytesMethod bytes_method = BytesMethod::kEstimate;
  std::uint64_t expired = 0;                 // rows purge_expired(now) would remove
  std::optional<Timestamp> oldest_created;   // kinds that record a creation time, when rows > 0
  std::optional<Timestamp> earliest_expiry;  // kinds that expire, when rows > 0
};

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
  // Atomically: if the counter exists and now < its window end, adds `delta` to it (saturating
  // at UINT32_MAX); otherwise, if delta > 0, starts it at `delta` with window end `window_end`.
  // delta 0 reads: it never writes. Returns the counter as it is after the call.
  virtual Result<CounterState> add_to_counter(const CounterKey& key, std::uint32_t delta,
                                              Timestamp window_end, Timestamp now) = 0;
  // Removes the counter (a success resets a failure count). Removing an absent counter is ok.
  virtual Status reset_counter(const CounterKey& key) = 0;

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

  // --- audit log (append-only; purge_expired never touches it) ---
  // Atomically: if the stored head's count (0 when there is none) is entry.sequence - 1, inserts
  // `entry` and replaces the head with `head`; otherwise kConflict and nothing changes. kStoreError
  // if an entry with that sequence exists already although the head says otherwise.
  virtual Result<AuditAppendOutcome> append_audit(const AuditRecord& entry,
                                                  const AuditHead& head) = 0;
  // Up to `limit` entries with sequence >= `from`, in ascending sequence order.
  virtual Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) = 0;
  // The head, or nullopt while nothing was ever appended.
  virtual Result<std::optional<AuditHead>> audit_head() = 0;

  // --- retention report ---
  // One entry per kind of row the store holds (every kind, also when it has no rows), in a fixed
  // order, each with a describe_row_kind() entry. Reads only; one consistent snapshot where the
  // backend has transactions. Scans every row: for operators, not for a hot path.
  virtual Result<std::vector<RowKindStats>> retention_stats(Timestamp now) = 0;

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
  Result<CounterState> add_to_counter(const CounterKey& key, std::uint32_t delta,
                                      Timestamp window_end, Timestamp now) override;
  Status reset_counter(const CounterKey& key) override;
  Result<BindOutcome> insert_binding(const BindingRecord& binding,
                                     std::uint32_t max_accounts) override;
  Result<std::vector<std::string>> find_accounts(const BlindIndex& index) override;
  Result<std::size_t> delete_bindings(std::string_view account_id) override;
  Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch = 10000) override;
  Result<AuditAppendOutcome> append_audit(const AuditRecord& entry, const AuditHead& head) override;
  Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) override;
  Result<std::optional<AuditHead>> audit_head() override;
  // bytes are estimates (BytesMethod::kEstimate) of the heap the rows take; see memory_store.cpp.
  Result<std::vector<RowKindStats>> retention_stats(Timestamp now) override;
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
