// disclose, audit verify, transparency: lawful lookups and the audit trail they leave.
#include "audit_commands.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <utility>

#include "reports.hpp"

namespace veribind::cli {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads s[pos, pos+n) as a decimal number; false unless all digits.
bool number_at(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size() || !all_digits(s.substr(pos, n))) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) out = out * 10 + (s[i] - '0');
  return true;
}

void print_counts(std::string_view title,
                  const std::map<std::string, std::uint64_t, std::less<>>& counts) {
  std::cout << title << '\n';
  if (counts.empty()) std::cout << "  (none)\n";
  for (const auto& [key, count] : counts) std::cout << "  " << count << "\t" << key << '\n';
}

}  // namespace

Result<Timestamp> parse_since(std::string_view text) {
  const Status bad(ErrorCode::kInvalidArgument,
                   "--since: expected an ISO 8601 date or date-time in UTC or with an offset "
                   "(2026-01-31, 2026-01-31T12:00:00Z, 2026-01-31T14:00:00+02:00) or unix seconds");
  using namespace std::chrono;
  if (all_digits(text)) {
    if (text.size() > 12) return bad;  // beyond year 33000
    long long seconds = 0;
    for (char c : text) seconds = seconds * 10 + (c - '0');
    return Timestamp(milliseconds(seconds * 1000));
  }
  int y = 0, mo = 0, d = 0;
  if (text.size() < 10 || !number_at(text, 0, 4, y) || text[4] != '-' ||
      !number_at(text, 5, 2, mo) || text[7] != '-' || !number_at(text, 8, 2, d)) {
    return bad;
  }
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return bad;
  sys_seconds t = sys_days(date);
  if (text.size() == 10) return time_point_cast<milliseconds>(t);

  int h = 0, mi = 0, s = 0;
  if (text.size() < 20 || text[10] != 'T' || !number_at(text, 11, 2, h) || text[13] != ':' ||
      !number_at(text, 14, 2, mi) || text[16] != ':' || !number_at(text, 17, 2, s) || h > 23 ||
      mi > 59 || s > 59) {
    return bad;
  }
  t += hours(h) + minutes(mi) + seconds(s);
  const std::string_view zone = text.substr(19);
  if (zone == "Z") return time_point_cast<milliseconds>(t);
  int oh = 0, om = 0;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !number_at(zone, 1, 2, oh) ||
      zone[3] != ':' || !number_at(zone, 4, 2, om) || oh > 23 || om > 59) {
    return bad;
  }
  const minutes offset = hours(oh) + minutes(om);
  t += zone[0] == '+' ? -offset : offset;  // local time = UTC + offset
  return time_point_cast<milliseconds>(t);
}

int run_disclose(const CommonOptions& common, const DiscloseOptions& options) {
  const Output out(common.json);
  // Everything the request says is checked before the key or the database is touched.
  if (Status s = options.request.validate(); !s) return out.error(s);
  auto identifier = parse_identifier(options.identifier);
  if (!identifier) return out.error(identifier.status());
  auto ring = load_key(common.key_file);
  if (!ring) return out.error(ring.status());
  auto stores = open_stores(common, OpenMode::kExisting);
  if (!stores) return out.error(stores.status());

  const SystemClock clock;
  LinkPolicy policy = identifier->channel() == Channel::kPhone ? LinkPolicy::phone_linked()
                                                               : LinkPolicy::email_linked();
  auto registry = stores->registry(std::move(policy), *ring, clock);
  if (!registry) return out.error(registry.status());
  auto answer = registry->disclose(*identifier, options.request);
  if (!answer) return out.error(answer.status());

  const std::string& policy_name = registry->policy().name;
  if (out.json()) {
    out.emit(disclosure_json(*answer, policy_name));
    return kExitOk;
  }
  if (answer->accounts.empty()) {
    std::cout << "accounts      none bound to this identifier (" << policy_name << " policy)\n";
  } else {
    std::cout << "accounts      " << answer->accounts.size() << " bound to this identifier ("
              << policy_name << " policy):\n";
    for (const std::string& account : answer->accounts) std::cout << "  " << account << '\n';
  }
  std::cout << "audit entry   " << answer->audit_sequence << " (blind index " << answer->index.hex()
            << ", key version " << answer->index.key_version << ")\n";
  return kExitOk;
}

int run_audit_verify(const CommonOptions& common, const AuditVerifyOptions& options) {
  const Output out(common.json);
  std::optional<PublishedAuditHead> expected;
  if (options.expect_head) {
    auto parsed = PublishedAuditHead::parse(*options.expect_head);
    if (!parsed)
      return out.error(Status(parsed.code(), "--expect-head: " + parsed.status().message()));
    expected = *parsed;
  }
  auto ring = load_key(common.key_file);
  if (!ring) return out.error(ring.status());
  auto stores = open_stores(common, OpenMode::kExisting);
  if (!stores) return out.error(stores.status());
  const AuditLog log(stores->audit());
  auto report = expected ? log.verify(*ring, *expected) : log.verify(*ring);
  if (!report) return out.error(report.status());

  // A log that does not verify is the one stable error, whatever the problem; the report says
  // what and where.
  constexpr ErrorCode kCorrupt = ErrorCode::kAuditLogCorrupt;
  if (out.json()) {
    out.emit(audit_verification_json(*report));
    return report->ok() ? kExitOk : kExitRefused;
  }
  if (!report->ok()) {
    std::cout << "audit log     NOT INTACT: " << audit_problem_name(report->problem);
    if (report->sequence == 0) {
      std::cout << " at the head record\n";
    } else {
      std::cout << " at sequence " << report->sequence << '\n';
    }
    std::cout << "detail        " << report->detail << '\n'
              << "intact        the first " << report->entries_verified << " entries\n";
    std::cerr << "veribind: the audit log does not verify [" << error_code_name(kCorrupt) << "]\n";
    return kExitRefused;
  }
  if (!report->head) {
    std::cout << "audit log     empty: no lawful lookup has been made\n";
    return kExitOk;
  }
  std::cout << "audit log     intact: " << report->entries_verified
            << " entries, each MAC, the chain and the head verified"
            << (expected ? ", and the published head " + expected->text() + " is in it" : "")
            << "\n"
            << "head          " << PublishedAuditHead::of(report->head).text()
            << " (audit key version " << report->head->mac_key_version << ")\n"
            << "              publish this somewhere the database's operator cannot rewrite, "
               "and check\n"
            << "              later logs with --expect-head: a rollback of the log and its head "
               "to an\n"
            << "              older copy verifies on its own, but not against it\n";
  return kExitOk;
}

int run_transparency(const CommonOptions& common, const TransparencyOptions& options) {
  const Output out(common.json);
  std::optional<Timestamp> since;
  if (options.since) {
    auto parsed = parse_since(*options.since);
    if (!parsed) return out.error(parsed.status());
    since = *parsed;
  }
  auto ring = load_key(common.key_file);
  if (!ring) return out.error(ring.status());
  auto stores = open_stores(common, OpenMode::kExisting);
  if (!stores) return out.error(stores.status());
  auto report = AuditLog(stores->audit()).transparency(*ring, since);
  if (!report) return out.error(report.status());

  if (out.json()) {
    out.emit(transparency_json(*report, since));
    return kExitOk;
  }
  std::cout << "lawful requests, "
            << (since ? "since " + iso8601_utc(*since) : std::string("all time")) << '\n'
            << "requests      " << report->requests << '\n'
            << "accounts      " << report->accounts_returned << " disclosed in all\n";
  print_counts("by outcome", report->by_outcome);
  print_counts("by authority", report->by_authority);
  print_counts("by legal basis", report->by_legal_basis);
  print_counts("by channel", report->by_channel);
  std::cout << "audit log     verified (" << report->log_entries << " entries)\n"
            << "head          " << report->head.text()
            << " (publish it with these counts; audit verify --expect-head checks it)\n";
  return kExitOk;
}

}  // namespace veribind::cli
