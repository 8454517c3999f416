#include "reports.hpp"

#include <span>

#include "cli.hpp"

namespace veribind::cli {

namespace {

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

nlohmann::json optional_time(const std::optional<Timestamp>& t) {
  return t ? nlohmann::json(iso8601_utc(*t)) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json disclosure_json(const Disclosure& answer, const std::string& policy) {
  return {{"accounts", answer.accounts},
          {"policy", policy},
          {"audit_sequence", answer.audit_sequence},
          {"blind_index", answer.index.hex()},
          {"key_version", answer.index.key_version}};
}

nlohmann::json audit_verification_json(const AuditVerification& report) {
  // A log that does not verify is the one stable error, whatever the problem; the report says
  // what and where.
  constexpr ErrorCode kCorrupt = ErrorCode::kAuditLogCorrupt;
  nlohmann::json object = {{"ok", report.ok()},
                           {"problem", audit_problem_name(report.problem)},
                           {"entries_verified", report.entries_verified}};
  if (!report.ok()) {
    object["sequence"] = report.sequence;
    object["detail"] = report.detail;
    object["error"] = {{"code", std::string(error_code_name(kCorrupt))},
                       {"message", "the audit log does not verify"}};
  }
  if (report.head) {
    object["head"] = {{"count", report.head->count},
                      {"last_mac", hex(report.head->last_mac)},
                      {"key_version", report.head->mac_key_version}};
  } else {
    object["head"] = nullptr;
  }
  return object;
}

nlohmann::json transparency_json(const TransparencyReport& report,
                                 const std::optional<Timestamp>& since) {
  return {{"since", optional_time(since)},
          {"requests", report.requests},
          {"accounts_returned", report.accounts_returned},
          {"by_outcome", report.by_outcome},
          {"by_authority", report.by_authority},
          {"by_legal_basis", report.by_legal_basis},
          {"by_channel", report.by_channel},
          {"audit_log",
           {{"verified", true}, {"entries", report.log_entries}, {"head", report.head.text()}}}};
}

nlohmann::json retention_json(const std::vector<RowKindStats>& stats, Timestamp now) {
  nlohmann::json kinds = nlohmann::json::array();
  for (const RowKindStats& s : stats) {
    const RowKindDescription* d = describe_row_kind(s.kind);
    kinds.push_back({{"kind", s.kind},
                     {"rows", s.rows},
                     {"expired", s.expired},
                     {"bytes", s.bytes},
                     {"bytes_method", bytes_method_name(s.bytes_method)},
                     {"oldest_created", optional_time(s.oldest_created)},
                     {"earliest_expiry", optional_time(s.earliest_expiry)},
                     {"retention", d != nullptr ? d->retention : ""},
                     {"reveals", d != nullptr ? d->reveals : ""}});
  }
  return {{"as_of", iso8601_utc(now)}, {"kinds", kinds}};
}

nlohmann::json key_usage_json(std::uint32_t version, const KeyUsage& usage) {
  return {{"version", version},
          {"bindings", usage.bindings},
          {"challenges", usage.challenges},
          {"data_keys", usage.data_keys},
          {"audit_entries", usage.audit_entries}};
}

Result<PurgeSummary> purge_all(VerificationStore& store, Timestamp now, std::size_t batch) {
  if (batch < 1 || batch > 1000000) {
    return Status(ErrorCode::kInvalidArgument, "--batch must be 1..1000000");
  }
  // Batches keep each write transaction short, so verifications are not held up behind a purge.
  // A batch that comes back short of the limit for every kind means nothing expired is left.
  PurgeSummary summary;
  summary.batch_size = batch;
  summary.as_of = now;
  while (true) {
    auto purged = store.purge_expired(now, batch);
    if (!purged) return purged.status();
    ++summary.batches;
    summary.total.challenges += purged->challenges;
    summary.total.counters += purged->counters;
    if (purged->challenges < batch && purged->counters < batch) break;
  }
  return summary;
}

nlohmann::json erasure_json(const Erasure& erasure) {
  nlohmann::json object = {{"bindings_removed", erasure.bindings_removed},
                           {"key_copies_remain", erasure.key_copies_remain}};
  if (erasure.key_copies_remain) object["warning"] = kErasureCopiesRemain;
  return object;
}

nlohmann::json purge_json(const PurgeSummary& summary) {
  return {
      {"purged", {{"challenges", summary.total.challenges}, {"counters", summary.total.counters}}},
      {"batches", summary.batches},
      {"batch_size", summary.batch_size},
      {"as_of", iso8601_utc(summary.as_of)}};
}

}  // namespace veribind::cli
