#include "veribind/audit.hpp"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "account/internal/plaintext_guard.hpp"
#include "internal/audit_chain.hpp"
#include "internal/hex.hpp"
#include "internal/utf8.hpp"

namespace veribind {

namespace {

// --- LegalRequest validation ---------------------------------------------------------------------

// Characters that do not show, or that change how the text around them shows or breaks: a field
// holding one could print as something other than what is counted.
bool invisible_or_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xAD ||  // C0, DEL, C1, soft hyphen
         (cp >= 0x200B && cp <= 0x200F) ||  // zero-width space/joiners, LRM, RLM
         (cp >= 0x2028 && cp <= 0x202E) ||  // line/paragraph separators, bidi embeddings
         (cp >= 0x2060 && cp <= 0x2064) ||  // word joiner, invisible operators
         (cp >= 0x2066 && cp <= 0x2069) ||  // bidi isolates
         cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) ||  // BOM, interlinear annotations
         (cp >= 0xE0000 && cp <= 0xE007F);                  // tag characters
}

bool space(char32_t cp) {
  return cp == 0x20 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

Status validate_field(std::string_view name, std::string_view value, std::size_t max_bytes) {
  const auto refuse = [&](ErrorCode code, std::string_view why) {
    std::string message = "legal request: ";
    message.append(name);
    message.append(" ");
    message.append(why);
    return Status(code, std::move(message));
  };
  if (value.empty()) return refuse(ErrorCode::kInvalidLegalRequest, "is empty");
  if (value.size() > max_bytes) {
    return refuse(ErrorCode::kInputTooLong,
                  "is longer than " + std::to_string(max_bytes) + " bytes");
  }
  char32_t first = 0;
  char32_t last = 0;
  for (std::size_t i = 0; i < value.size();) {
    char32_t cp = 0;
    const std::size_t n = internal::decode_utf8(value, i, cp);
    if (n == 0) return refuse(ErrorCode::kInvalidLegalRequest, "is not valid UTF-8");
    if (invisible_or_control(cp)) {
      return refuse(ErrorCode::kInvalidLegalRequest,
                    "contains a control or invisible formatting character");
    }
    if (i == 0) first = cp;
    last = cp;
    i += n;
  }
  if (space(first) || space(last)) {
    return refuse(ErrorCode::kInvalidLegalRequest, "begins or ends with a space");
  }
  const internal::PersonalData found = internal::personal_data_in_text(value);
  if (found != internal::PersonalData::kNone) {
    return refuse(ErrorCode::kLegalRequestPersonalData,
                  "holds what looks like " + std::string(internal::personal_data_name(found)) +
                      "; the audit log keeps every field for good, so name the identifier only "
                      "in the lookup itself (it is recorded as a blind index)");
  }
  return Status::ok();
}

// --- chain walking -------------------------------------------------------------------------------

using internal::AuditMac;

// Subkeys by version, derived on first use.
class KeyCache {
 public:
  explicit KeyCache(const KeyRing& ring) : ring_(&ring) {}
  // nullptr if the ring does not hold `version`.
  const SecretBytes* get(std::uint32_t version) {
    for (const auto& [v, key] : keys_) {
      if (v == version) return &key;
    }
    auto derived = ring_->derive(KeyPurpose::kAuditChain, version);
    if (!derived) return nullptr;
    keys_.emplace_back(version, std::move(derived).value());
    return &keys_.back().second;
  }

 private:
  const KeyRing* ring_;
  std::vector<std::pair<std::uint32_t, SecretBytes>> keys_;
};

// How far from its place a moved entry is looked for, to tell "reordered" from "edited". Bounds
// the work on a bad log; an entry moved farther is reported as edited (still detected).
constexpr std::uint64_t kReorderWindow = 4096;
constexpr std::size_t kScanBatch = 512;

std::string seq(std::uint64_t n) { return std::to_string(n); }

// Checks the whole log; calls `visit` for each intact, in-order entry (before any problem). With
// `published`, also that the log holds the entry that head names (see AuditLog::verify).
Result<AuditVerification> walk(AuditStore& store, const KeyRing& ring,
                               const std::optional<PublishedAuditHead>& published,
                               const std::function<void(const AuditRecord&)>& visit) {
  AuditVerification report;
  KeyCache keys(ring);
  auto bound = store.audit_binding();
  if (!bound) return bound.status();
  const AuditBinding binding = *bound;
  auto head = store.audit_head();
  if (!head) return head.status();
  report.head = *head;

  const auto fail = [&report](AuditProblem problem, std::uint64_t sequence, std::string detail) {
    report.problem = problem;
    report.sequence = sequence;
    report.detail = std::move(detail);
    return report;
  };

  AuditMac prev{};         // the chain so far: the last intact entry's mac
  std::uint64_t next = 1;  // the sequence the next entry must have
  bool head_reread = false;
  while (true) {
    auto batch = store.scan_audit(next, kScanBatch);
    if (!batch) return batch.status();
    if (batch->empty()) {
      // Entries and head commit together, so a head read now covers every entry committed before
      // it: if it counts past what the scan saw, look once more before calling the log truncated.
      if (head_reread) break;
      auto again = store.audit_head();
      if (!again) return again.status();
      report.head = *again;
      head_reread = true;
      if (report.head && report.head->count >= next) continue;
      break;
    }
    head_reread = false;
    for (const AuditRecord& e : *batch) {
      if (e.sequence != next) {
        if (e.sequence > next) {
          const std::string missing = e.sequence - 1 == next ? "entry " + seq(next) + " is"
                                                             : "entries " + seq(next) + " to " +
                                                                   seq(e.sequence - 1) + " are";
          return fail(AuditProblem::kDeleted, next,
                      missing + " missing (the next entry present is " + seq(e.sequence) + ")");
        }
        return fail(AuditProblem::kReordered, next,
                    "sequence " + seq(e.sequence) + " appears again after " + seq(next - 1));
      }
      const SecretBytes* key = keys.get(e.mac_key_version);
      if (key == nullptr) {
        return fail(AuditProblem::kUnknownKey, next,
                    "entry " + seq(next) + " names audit key version " +
                        std::to_string(e.mac_key_version) +
                        ", which the key ring does not hold (edited, or the key was retired)");
      }
      if (!internal::same_mac(internal::audit_entry_mac(*key, binding, e), e.mac)) {
        // An intact entry moved to another sequence number verifies under its original one.
        AuditRecord moved = e;
        const std::uint64_t low = next > kReorderWindow ? next - kReorderWindow : 1;
        for (std::uint64_t q = low; q <= next + kReorderWindow; ++q) {
          if (q == next) continue;
          moved.sequence = q;
          if (internal::same_mac(internal::audit_entry_mac(*key, binding, moved), e.mac)) {
            return fail(AuditProblem::kReordered, next,
                        "entry " + seq(next) + " holds the entry appended as sequence " + seq(q));
          }
        }
        return fail(AuditProblem::kEdited, next,
                    "entry " + seq(next) + " does not match its MAC: a field was changed" +
                        (next == 1 || next == binding.bound_from
                             ? " (or the key is not the one the log was written with, or the "
                               "entry was written by another store)"
                             : ""));
      }
      if (!internal::same_mac(e.prev_mac, prev)) {
        return fail(AuditProblem::kBrokenChain, next,
                    "entry " + seq(next) + " is intact but does not follow entry " + seq(next - 1) +
                        " (entries were replaced from another copy of the log)");
      }
      if (next + 1 == binding.bound_from && !internal::same_mac(e.mac, binding.unbound_last_mac)) {
        return fail(AuditProblem::kOtherStore, next,
                    "entry " + seq(next) +
                        " is not the last entry this store held when its log "
                        "was bound to it (the log came from another store)");
      }
      if (published && next == published->count &&
          !internal::same_mac(e.mac, published->last_mac)) {
        return fail(AuditProblem::kPublishedHeadMismatch, next,
                    "entry " + seq(next) +
                        " is not the entry the published head names: the log "
                        "was replaced since that head was recorded");
      }
      visit(e);
      prev = e.mac;
      ++next;
      ++report.entries_verified;
    }
  }

  const std::uint64_t last = next - 1;
  // Checked before the head: rolled back together with the log, it would agree with it.
  const auto behind_published = [&]() -> std::optional<AuditVerification> {
    if (!published || published->count <= last) return std::nullopt;
    return fail(AuditProblem::kPublishedHeadMismatch, last + 1,
                "the log ends at " + seq(last) + " but the published head counts " +
                    seq(published->count) + ": the log was rolled back to an older copy");
  };
  if (last + 1 < binding.bound_from) {
    return fail(AuditProblem::kTruncated, last + 1,
                "the log ends at " + seq(last) + " but held " + seq(binding.bound_from - 1) +
                    " entries when it was bound to this store");
  }
  if (!report.head) {
    if (last == 0) {
      if (auto behind = behind_published()) return *behind;
      return report;  // an empty log
    }
    return fail(AuditProblem::kHeadMismatch, 0,
                "the head record is missing although " + seq(last) + " entries are present");
  }
  const AuditHead& h = *report.head;
  const SecretBytes* key = keys.get(h.mac_key_version);
  if (key == nullptr) {
    return fail(AuditProblem::kUnknownKey, 0,
                "the head names audit key version " + std::to_string(h.mac_key_version) +
                    ", which the key ring does not hold");
  }
  if (!internal::same_mac(internal::audit_head_mac(*key, binding, h), h.mac)) {
    return fail(AuditProblem::kHeadMismatch, 0,
                "the head record does not match its MAC (edited, or written by another store)");
  }
  if (h.count > last) {
    return fail(AuditProblem::kTruncated, last + 1,
                "the head counts " + seq(h.count) + " entries but the log ends at " + seq(last) +
                    ": entries " + seq(last + 1) + " to " + seq(h.count) + " were removed");
  }
  if (h.count < last) {
    return fail(AuditProblem::kHeadMismatch, 0,
                "the head counts " + seq(h.count) + " entries but " + seq(last) +
                    " are present (the head was put back to an older copy)");
  }
  if (!internal::same_mac(h.last_mac, prev)) {
    return fail(AuditProblem::kHeadMismatch, 0,
                "the head does not name entry " + seq(last) + " as the last entry");
  }
  if (auto behind = behind_published()) return *behind;
  return report;
}

}  // namespace

Status LegalRequest::validate() const {
  if (Status s = validate_field("authority", authority, kMaxAuthorityBytes); !s) return s;
  if (Status s = validate_field("reference", reference, kMaxReferenceBytes); !s) return s;
  if (Status s = validate_field("legal_basis", legal_basis, kMaxLegalBasisBytes); !s) return s;
  return validate_field("requested_by", requested_by, kMaxRequestedByBytes);
}

std::string_view audit_problem_name(AuditProblem problem) noexcept {
  switch (problem) {
    case AuditProblem::kNone: return "ok";
    case AuditProblem::kEdited: return "edited";
    case AuditProblem::kDeleted: return "deleted";
    case AuditProblem::kReordered: return "reordered";
    case AuditProblem::kTruncated: return "truncated";
    case AuditProblem::kHeadMismatch: return "head_mismatch";
    case AuditProblem::kBrokenChain: return "broken_chain";
    case AuditProblem::kUnknownKey: return "unknown_key";
    case AuditProblem::kOtherStore: return "other_store";
    case AuditProblem::kPublishedHeadMismatch: return "published_head_mismatch";
  }
  return "unknown";
}

Result<AuditVerification> AuditLog::verify(const KeyRing& ring) const {
  return walk(*store_, ring, std::nullopt, [](const AuditRecord&) {});
}

Result<AuditVerification> AuditLog::verify(const KeyRing& ring,
                                           const PublishedAuditHead& published) const {
  return walk(*store_, ring, published, [](const AuditRecord&) {});
}

Result<TransparencyReport> AuditLog::transparency(const KeyRing& ring,
                                                  std::optional<Timestamp> since) const {
  TransparencyReport report;
  report.since = since;
  auto verified = walk(*store_, ring, std::nullopt, [&](const AuditRecord& e) {
    ++report.log_entries;
    if (since && e.time < *since) return;
    ++report.requests;
    report.accounts_returned += e.accounts_returned;
    ++report.by_authority[e.authority];
    ++report.by_legal_basis[e.legal_basis];
    ++report.by_outcome[e.accounts_returned > 0 ? "accounts_found" : "none_found"];
    ++report.by_channel[std::string(channel_name(e.channel))];
  });
  if (!verified) return verified.status();
  report.head = PublishedAuditHead::of(verified->head);
  if (!verified->ok()) {
    std::string message = "the audit log does not verify (";
    message.append(audit_problem_name(verified->problem));
    message.append(verified->sequence == 0 ? std::string(" at the head")
                                           : " at sequence " + seq(verified->sequence));
    message.append("): ");
    message.append(verified->detail);
    message.append("; no counts are given from it");
    return Status(ErrorCode::kAuditLogCorrupt, std::move(message));
  }
  return report;
}

namespace internal {

Result<AuditRecord> append_audit_entry(AuditStore& store, const SecretBytes& key,
                                       std::uint32_t key_version, AuditRecord entry) {
  auto bound = store.audit_binding();
  if (!bound) return bound.status();
  const AuditBinding binding = *bound;
  constexpr int kAttempts = 32;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto head = store.audit_head();
    if (!head) return head.status();
    entry.sequence = *head ? (*head)->count + 1 : 1;
    if (entry.sequence < binding.bound_from) {
      // Every append since the binding is a bound entry; an unbound one now would be one an
      // attacker could have copied from anywhere.
      return Status(ErrorCode::kAuditLogCorrupt,
                    "audit log: the head is behind the point where the log was bound to this "
                    "store (entries were removed); nothing was recorded");
    }
    entry.prev_mac = *head ? (*head)->last_mac : AuditMac{};
    entry.mac_key_version = key_version;
    entry.mac = audit_entry_mac(key, binding, entry);
    AuditHead next{entry.sequence, entry.mac, key_version, {}};
    next.mac = audit_head_mac(key, binding, next);
    auto outcome = store.append_audit(entry, next);
    if (!outcome) return outcome.status();
    if (*outcome == AuditAppendOutcome::kAppended) return entry;
  }
  return Status(ErrorCode::kUnavailable,
                "audit log: other appends kept coming first; nothing was recorded, try again");
}

}  // namespace internal

}  // namespace veribind
