// VerificationStore: the ephemeral state of one-time codes (challenges, rate-limit counters, the
// identifiers' failure counts), used by the Verifier only.
//
// Contract for every backend (tests/store/verification_contract.hpp checks it against each):
// - Nothing passed in is plaintext personal data: identifiers arrive as blind indexes, codes as
//   keyed tags, rate-limit keys as keyed hashes.
// - Every operation is one atomic step, isolated across threads and, for shared backends (an
//   SQLite file, a PostgreSQL database), across processes and nodes: charge_attempt in particular
//   never lets the attempts of a challenge exceed its maximum, nor misses a failure, however many
//   callers race. A failed operation changes nothing.
// - Durable against a process crash (kill -9). After an OS crash or a power loss the last moments
//   of writes may roll back (SECURITY.md states the window per backend), unless the backend is
//   opened to sync every commit.
// - Every row expires; purge_expired removes what has expired.
// - Failures are values: kStoreError for a refused or failed operation, kUnavailable when the
//   backend cannot be reached.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

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

// A rate-limit counter key: a keyed hash chosen by the caller.
using CounterKey = std::array<std::uint8_t, 32>;

// A counter as it is after an operation: its count and the end of its window. {0, {}} for a
// counter that does not exist or whose window has ended.
struct CounterState {
  std::uint32_t count = 0;
  Timestamp window_end{};

  bool operator==(const CounterState&) const = default;
};

// One counter step of a batch. If the counter exists, holds a count above 0 and now < its window
// end, `delta` is added (saturating at UINT32_MAX); otherwise it starts at `delta` with window end
// `window_end`. A counter whose count is 0 reads as absent ({0, {}}), so delta 0 never changes
// what any read sees. SQL backends still write the row for delta 0 (one that did not exist is
// made at 0), so that a refused request, which adds 0, does the same I/O as an admitted one;
// MemoryStore only reads. `after` receives the counter as it is after the step.
struct CounterUpdate {
  CounterKey key{};
  std::uint32_t delta = 0;
  Timestamp window_end{};
  CounterState after{};
};

enum class ChargeOutcome : std::uint8_t {
  kCharged,    // one attempt charged and one failure counted; record and failures are returned
  kNotFound,   // no such challenge (never existed, consumed, or purged)
  kExpired,    // exists, but now >= expires_at; nothing charged
  kExhausted,  // exists, but attempts == max_attempts; nothing charged
};

struct ChargeResult {
  ChargeOutcome outcome = ChargeOutcome::kNotFound;
  ChallengeRecord record;  // meaningful when outcome == kCharged, attempts included
  // The failure count of the record's identifier after this charge counted one: meaningful when
  // outcome == kCharged.
  CounterState failures;
};

struct PurgeCounts {
  std::size_t challenges = 0;
  std::size_t counters = 0;  // rate-limit counters and failure counts together
};

class VerificationStore {
 public:
  virtual ~VerificationStore() = default;

  // Inserts a new challenge and applies `counters` in order (each step's `after` is filled), as
  // one atomic step. kStoreError if the id exists already (nothing changed).
  virtual Status create_challenge(const ChallengeRecord& record, std::span<CounterUpdate> counters,
                                  Timestamp now) = 0;

  // If the challenge exists and now < its expiry: replaces its code tag and expiry (attempts are
  // kept, so a resend never buys more guesses) and applies `counters`, as one atomic step, and
  // returns true. Otherwise false, and nothing changed (the counters neither).
  virtual Result<bool> reissue_challenge(const ChallengeId& id,
                                         const std::array<std::uint8_t, 16>& code_tag,
                                         Timestamp expires_at, std::span<CounterUpdate> counters,
                                         Timestamp now) = 0;

  // Applies `counters` in order, as one atomic step (each step's `after` is filled).
  virtual Status add_to_counters(std::span<CounterUpdate> counters, Timestamp now) = 0;

  // Reads, as of `now`, the failure count of `identifier` (the return value) and the counters of
  // `keys` (into `out`, which has keys.size() entries), in one consistent read. Writes nothing.
  virtual Result<CounterState> read_counters(const BlindIndex& identifier,
                                             std::span<const CounterKey> keys,
                                             std::span<CounterState> out, Timestamp now) = 0;

  // The hot path of a check, as one atomic step: if the challenge exists, now < expires_at and
  // attempts < max_attempts, increments attempts and counts one failure against the challenge's
  // identifier (its blind index with its key version), and returns both as they are after. The
  // failure is counted before the caller compares the code, so that racing guesses can never
  // exceed the identifier's limit; a right code takes it back with consume_challenge(). A failure
  // count whose window has ended (or that does not exist) restarts at 1 with window end
  // `failure_window_end`. Otherwise says why not, and changes nothing.
  virtual Result<ChargeResult> charge_attempt(const ChallengeId& id, Timestamp now,
                                              Timestamp failure_window_end) = 0;

  // Removes the challenge and the failure count of its identifier, as one atomic step; true if
  // this call removed the challenge (exactly one caller ever gets true; false changes nothing).
  virtual Result<bool> consume_challenge(const ChallengeId& id) = 0;

  // The challenge as stored, or nullopt. Charges nothing.
  virtual Result<std::optional<ChallengeRecord>> find_challenge(const ChallengeId& id) = 0;

  // Removes challenges, counters and failure counts whose expiry is <= now, at most `batch` rows
  // of each kind per call (call again while it returns a full batch).
  virtual Result<PurgeCounts> purge_expired(Timestamp now, std::size_t batch = 10000) = 0;

  // Challenges live at `now` (not expired) whose blind index has key version `key_version`.
  virtual Result<std::size_t> live_challenges(std::uint32_t key_version, Timestamp now) = 0;
};

}  // namespace veribind
