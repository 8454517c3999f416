// The operator routes: what `veribind find`, `disclose`, `unlink`, `erase`, `audit verify`,
// `transparency`, `retention`, `purge` and the key usage report do, with the same JSON (built by
// reports.hpp for both).
#include <array>

#include "audit_commands.hpp"
#include "reports.hpp"
#include "serve/api_routes.hpp"

namespace veribind::serve {

namespace {

constexpr std::size_t kMaxAccountIdBytes = 256;  // the library refuses over 128 with its own code
constexpr std::size_t kMaxLegalFieldBytes = 256;

Registry& registry_for(const ApiServices& s, const Identifier& identifier) {
  return identifier.channel() == Channel::kPhone ? s.phone_registry : s.email_registry;
}

constexpr FieldSpec kTo{"to", FieldType::kString, true, kMaxDestinationBytes};
constexpr FieldSpec kChannel{"channel", FieldType::kString, true, kMaxNameBytes};
constexpr FieldSpec kRegion{"region", FieldType::kString, false, kMaxNameBytes};
constexpr FieldSpec kAccountId{"account_id", FieldType::kString, true, kMaxAccountIdBytes};

}  // namespace

HttpReply operator_find(const RequestScope& scope) {
  static constexpr std::array<FieldSpec, 3> kFields = {kTo, kChannel, kRegion};
  JsonBody body;
  if (auto bad = read_json_body(scope.request, kFields, body)) return api_error_reply(*bad);
  auto identifier = parse_destination(body);
  if (!identifier) return status_reply(identifier.status());
  Registry& registry = registry_for(scope.services, *identifier);
  auto accounts = registry.find(*identifier);
  if (!accounts) return status_reply(accounts.status());
  return json_reply(200, {{"policy", registry.policy().name}, {"accounts", *accounts}});
}

HttpReply operator_disclose(const RequestScope& scope) {
  static constexpr std::array<FieldSpec, 7> kFields = {{
      kTo,
      kChannel,
      kRegion,
      {"authority", FieldType::kString, true, kMaxLegalFieldBytes},
      {"reference", FieldType::kString, true, kMaxLegalFieldBytes},
      {"legal_basis", FieldType::kString, true, kMaxLegalFieldBytes},
      {"requested_by", FieldType::kString, true, kMaxLegalFieldBytes},
  }};
  JsonBody body;
  if (auto bad = read_json_body(scope.request, kFields, body)) return api_error_reply(*bad);
  LegalRequest request;
  request.authority = body.string_or("authority", "");
  request.reference = body.string_or("reference", "");
  request.legal_basis = body.string_or("legal_basis", "");
  request.requested_by = body.string_or("requested_by", "");
  if (Status s = request.validate(); !s) return status_reply(s);
  auto identifier = parse_destination(body);
  if (!identifier) return status_reply(identifier.status());
  Registry& registry = registry_for(scope.services, *identifier);
  auto answer = registry.disclose(*identifier, request);
  if (!answer) return status_reply(answer.status());
  return json_reply(200, cli::disclosure_json(*answer, registry.policy().name));
}

HttpReply operator_unlink(const RequestScope& scope) {
  static constexpr std::array<FieldSpec, 1> kFields = {kAccountId};
  JsonBody body;
  if (auto bad = read_json_body(scope.request, kFields, body)) return api_error_reply(*bad);
  const std::string_view account = body.string_or("account_id", "");
  // The form only, as Registry::unlink(): an id stored before the personal-data rule can go.
  if (Status s = Registry::validate_account_id_form(account); !s) return status_reply(s);
  // unlink() removes the account's bindings on every channel; the policy plays no part.
  auto removed = scope.services.phone_registry.unlink(account);
  if (!removed) return status_reply(removed.status());
  return json_reply(200, {{"account_id", account}, {"removed", *removed}});
}

HttpReply operator_erase(const RequestScope& scope) {
  static constexpr std::array<FieldSpec, 1> kFields = {kAccountId};
  JsonBody body;
  if (auto bad = read_json_body(scope.request, kFields, body)) return api_error_reply(*bad);
  const std::string_view account = body.string_or("account_id", "");
  if (Status s = Registry::validate_account_id_form(account); !s) return status_reply(s);
  auto erased = scope.services.phone_registry.erase(account);
  if (!erased) return status_reply(erased.status());
  nlohmann::json object = cli::erasure_json(*erased);
  object["account_id"] = account;
  return json_reply(200, object);
}

HttpReply operator_audit_verify(const RequestScope& scope) {
  std::array<QueryParameter, 1> parameters = {{{"expect_head", std::nullopt}}};
  if (auto bad = read_query(scope.query, parameters)) return api_error_reply(*bad);
  std::optional<PublishedAuditHead> expected;
  if (parameters[0].value) {
    auto parsed = PublishedAuditHead::parse(*parameters[0].value);
    if (!parsed) return status_reply({parsed.code(), "expect_head: " + parsed.status().message()});
    expected = *parsed;
  }
  const AuditLog log(scope.services.stores.audit());
  auto report =
      expected ? log.verify(scope.services.ring, *expected) : log.verify(scope.services.ring);
  if (!report) return status_reply(report.status());
  // A log that does not verify is a finding, not a failed request: 200 with ok false.
  HttpReply reply = json_reply(200, cli::audit_verification_json(*report));
  if (!report->ok()) reply.reason = std::string(error_code_name(ErrorCode::kAuditLogCorrupt));
  return reply;
}

HttpReply operator_transparency(const RequestScope& scope) {
  std::array<QueryParameter, 1> parameters = {{{"since", std::nullopt}}};
  if (auto bad = read_query(scope.query, parameters)) return api_error_reply(*bad);
  std::optional<Timestamp> since;
  if (parameters[0].value) {
    auto parsed = cli::parse_since(*parameters[0].value);
    if (!parsed) {
      return status_reply(
          {parsed.code(),
           "since: expected an ISO 8601 date or date-time in UTC or with an offset, or "
           "unix seconds"});
    }
    since = *parsed;
  }
  auto report = AuditLog(scope.services.stores.audit()).transparency(scope.services.ring, since);
  if (!report) return status_reply(report.status());
  return json_reply(200, cli::transparency_json(*report, since));
}

HttpReply operator_retention(const RequestScope& scope) {
  if (auto bad = read_query(scope.query, {})) return api_error_reply(*bad);
  const Timestamp now = scope.services.clock.now();
  auto stats = scope.services.stores.retention().retention_stats(now);
  if (!stats) return status_reply(stats.status());
  return json_reply(200, cli::retention_json(*stats, now));
}

HttpReply operator_purge(const RequestScope& scope) {
  static constexpr std::array<FieldSpec, 1> kFields = {{{"batch", FieldType::kInteger, false, 0}}};
  JsonBody body;
  if (auto bad = read_json_body(scope.request, kFields, body)) return api_error_reply(*bad);
  const std::int64_t batch = body.integer("batch").value_or(10000);
  if (batch < 1 || batch > 1000000) {
    return status_reply({ErrorCode::kInvalidArgument, "batch must be 1..1000000"});
  }
  auto summary = cli::purge_all(scope.services.stores.verification(), scope.services.clock.now(),
                                static_cast<std::size_t>(batch));
  if (!summary) return status_reply(summary.status());
  return json_reply(200, cli::purge_json(*summary));
}

HttpReply operator_keys(const RequestScope& scope) {
  if (auto bad = read_query(scope.query, {})) return api_error_reply(*bad);
  const ApiServices& s = scope.services;
  nlohmann::json versions = nlohmann::json::array();
  for (std::uint32_t version : s.ring.versions()) {
    auto usage = s.phone_registry.key_version_usage(version, s.verifier);
    if (!usage) return status_reply(usage.status());
    versions.push_back(cli::key_usage_json(version, *usage));
  }
  return json_reply(200, {{"current", s.ring.current_version()}, {"versions", versions}});
}

}  // namespace veribind::serve
