// The audit log of lawful lookups: every answer Registry::disclose() gives leaves one entry, and
// the entries form a MAC chain that makes editing, deleting, reordering or truncating them
// evident to anyone holding the key.
//
// An entry records when, who asked (authority, their reference, the legal basis, the operator
// who ran the lookup), the blind index of the identifier asked about with its key version (never
// the identifier), and how many accounts were returned. It carries
//   mac = BLAKE2b-256(audit subkey, encode(entry fields) || prev_mac)
// where prev_mac is the previous entry's mac (32 zero bytes for the first) and encode() is a
// canonical, length-prefixed encoding, so no two different entries encode alike. The audit subkey
// is KeyPurpose::kAuditChain of the master key version named in the entry. A head record
// (count, last mac) is MACed with the same subkey and replaced in the same store transaction as
// each append, so dropping entries from the tail is evident too.
//
// Both MACs also cover the store's id (AuditStore::audit_binding), so a log and head copied from
// another store that uses the same key fail to verify. A store upgraded from a version without an
// id got one at the upgrade; entries written before it keep their MACs (they verify without the
// id), and the binding records the last of them, so that part cannot be swapped either. The
// upgrade does not re-MAC the old entries: that would need the key at upgrade time, would turn
// any log the key holder is given (another store's, or an edited one) into a bound log that
// verifies, and would invalidate every head published before the upgrade.
//
// What the chain cannot show: someone who kept an old copy of the log AND its head (or who holds
// the master key) can put that copy back, or wipe both, and the result verifies; so does a swap
// of the whole store, its id included. A head recorded somewhere the store's operator cannot
// rewrite (PublishedAuditHead, printed by `veribind transparency` and `veribind audit verify`) and
// checked with verify(ring, published) is what catches that; see SECURITY.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "veribind/audit_store.hpp"
#include "veribind/clock.hpp"
#include "veribind/keys.hpp"
#include "veribind/result.hpp"

namespace veribind {

// Who asks, on what grounds, and who ran the lookup. Every field is required, is recorded
// verbatim in the audit log, and is counted verbatim by transparency().
struct LegalRequest {
  static constexpr std::size_t kMaxAuthorityBytes = 128;
  static constexpr std::size_t kMaxReferenceBytes = 128;
  static constexpr std::size_t kMaxLegalBasisBytes = 256;
  static constexpr std::size_t kMaxRequestedByBytes = 128;

  std::string authority;     // the requesting authority, e.g. "FIA Cybercrime Wing"
  std::string reference;     // the authority's case or order number
  std::string legal_basis;   // the law or order that compels the answer
  std::string requested_by;  // the operator who ran the lookup

  // Each field must be non-empty valid UTF-8, at most its kMax...Bytes, without control or
  // invisible formatting characters (C0, DEL, C1, line/paragraph separators, bidirectional
  // overrides and isolates, zero-width characters, BOM) and without leading or trailing spaces,
  // so that what is counted and printed is what was typed, on one line. And since the log keeps
  // every field for good, no field may hold personal data of the kind the lookup protects:
  // kLegalRequestPersonalData for something that parses as an email address, a phone number in
  // international form ('+' or "00"), or a run of 10 or more digits written with only spaces,
  // '-', '.', '(' and ')' between them (a national number; case numbers such as "2026-0042" are
  // shorter). The identifier asked about belongs in the lookup, which records only its blind
  // index. SECURITY.md says how this is detected and what it misses. Errors name the field, never
  // repeat its value: kInvalidLegalRequest, kInputTooLong for an over-long field, or
  // kLegalRequestPersonalData.
  [[nodiscard]] Status validate() const;
};

// What the first problem in the log is.
enum class AuditProblem : std::uint8_t {
  kNone = 0,
  kEdited = 1,        // an entry's MAC does not match its content (a field was changed)
  kDeleted = 2,       // sequence numbers jump: entries in between are missing
  kReordered = 3,     // an intact entry sits at another sequence number than it was appended at
  kTruncated = 4,     // the head counts entries past the last one present
  kHeadMismatch = 5,  // the head is missing, fails its MAC, or disagrees with the last entry
  kBrokenChain = 6,   // an intact entry does not follow its predecessor (spliced from elsewhere)
  kUnknownKey = 7,    // an entry or the head names a key version the ring does not hold
  kOtherStore = 8,    // the entries written before the store was bound are not this store's
  // The log does not hold the entry a published head names: it was rolled back to an older copy
  // (it ends before that entry) or replaced (the entry there has another mac). Only with
  // verify(ring, published).
  kPublishedHeadMismatch = 9,
};

// Stable snake_case name: "edited", "deleted", "head_mismatch"...; "ok" for kNone.
[[nodiscard]] std::string_view audit_problem_name(AuditProblem problem) noexcept;

struct AuditVerification {
  AuditProblem problem = AuditProblem::kNone;
  // Where: the sequence number of the first bad entry (kEdited, kReordered, kBrokenChain,
  // kUnknownKey, kOtherStore, kPublishedHeadMismatch), of the first missing one (kDeleted,
  // kTruncated, kPublishedHeadMismatch of a log that ends early), or 0 for the head itself
  // (kHeadMismatch, and kUnknownKey of the head).
  std::uint64_t sequence = 0;
  std::uint64_t entries_verified = 0;  // intact, in-order entries before the problem (all if ok)
  std::optional<AuditHead> head;       // as stored
  std::string detail;                  // operator text; holds no request field or identifier

  [[nodiscard]] bool ok() const noexcept { return problem == AuditProblem::kNone; }
};

// A head as published outside the store: how many entries the log held and the last one's mac.
// Text form "COUNT:MAC": the count in decimal, then 64 lower-case hex digits ("0:" and 64 zeros
// for an empty log). A log that verifies against it holds that very entry at that count, so it
// was neither rolled back nor replaced since; entries appended after it are fine.
struct PublishedAuditHead {
  std::uint64_t count = 0;
  std::array<std::uint8_t, AuditRecord::kMacBytes> last_mac{};

  // kInvalidArgument (the message shows the expected form, never the input) unless `text` is
  // exactly that form: no spaces, no sign, no leading zeros, no upper-case hex.
  [[nodiscard]] static Result<PublishedAuditHead> parse(std::string_view text);
  // The text form parse() reads.
  [[nodiscard]] std::string text() const;
  // The head to publish for a log whose stored head is `head` (nullopt: an empty log).
  [[nodiscard]] static PublishedAuditHead of(const std::optional<AuditHead>& head);

  bool operator==(const PublishedAuditHead&) const = default;
};

// Request counts, the kind of table platforms publish. Keys of the maps are the request fields
// as recorded; outcomes are "accounts_found" and "none_found"; channels "phone" and "email".
struct TransparencyReport {
  std::optional<Timestamp> since;  // entries before this instant were not counted
  std::uint64_t requests = 0;
  std::uint64_t accounts_returned = 0;
  std::map<std::string, std::uint64_t, std::less<>> by_authority;
  std::map<std::string, std::uint64_t, std::less<>> by_legal_basis;
  std::map<std::string, std::uint64_t, std::less<>> by_outcome;
  std::map<std::string, std::uint64_t, std::less<>> by_channel;
  std::uint64_t log_entries = 0;  // entries in the (verified) log, counted or not
  PublishedAuditHead head;        // of the log these counts come from: publish it with them
};

// Reads and checks the audit log in a store. Appending is Registry::disclose()'s job alone.
// `store` is not owned and must outlive the AuditLog. Reads only; safe to use while another
// process appends (entries appended after the head was read are checked up to that head).
class AuditLog {
 public:
  explicit AuditLog(AuditStore& store) : store_(&store) {}

  // Walks the whole log in sequence order, checking every entry's MAC, the chain and the head,
  // and reports the first problem (ok() if none). `ring` must hold every key version the log
  // names. Errors: store errors only (a malformed row the store cannot read is kStoreError,
  // naming its sequence); tampering is a report, not an error.
  [[nodiscard]] Result<AuditVerification> verify(const KeyRing& ring) const;
  // As verify(ring), and then checks the log against a head recorded earlier outside the store:
  // kPublishedHeadMismatch if the log ends before `published.count` (rolled back) or its entry
  // there has another mac (replaced). Other problems are reported first, as verify(ring) would.
  [[nodiscard]] Result<AuditVerification> verify(const KeyRing& ring,
                                                 const PublishedAuditHead& published) const;

  // Counts the entries at or after `since` (all if nullopt), after verifying the whole log in the
  // same pass: counts are never published from a log that does not verify. Errors:
  // kAuditLogCorrupt (the message says what and where, as verify() would), store errors.
  [[nodiscard]] Result<TransparencyReport> transparency(
      const KeyRing& ring, std::optional<Timestamp> since = std::nullopt) const;

 private:
  AuditStore* store_;
};

}  // namespace veribind
