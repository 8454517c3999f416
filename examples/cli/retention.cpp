// purge and retention: forgetting on schedule, and saying what is kept.
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli.hpp"

namespace veribind::cli {

namespace {

nlohmann::json optional_time(const std::optional<Timestamp>& t) {
  return t ? nlohmann::json(iso8601_utc(*t)) : nlohmann::json(nullptr);
}

}  // namespace

int run_purge(const CommonOptions& common, const PurgeOptions& options) {
  const Output out(common.json);
  if (options.batch < 1 || options.batch > 1000000) {
    return out.error(ErrorCode::kInvalidArgument, "--batch must be 1..1000000");
  }
  auto stores = open_stores(common, OpenMode::kExisting);
  if (!stores) return out.error(stores.status());
  const Timestamp now = SystemClock().now();
  // Batches keep each write transaction short, so verifications are not held up behind a purge.
  // A batch that comes back short of the limit for every kind means nothing expired is left.
  PurgeCounts total;
  std::size_t batches = 0;
  while (true) {
    auto purged = stores->verification().purge_expired(now, options.batch);
    if (!purged) return out.error(purged.status());
    ++batches;
    total.challenges += purged->challenges;
    total.counters += purged->counters;
    if (purged->challenges < options.batch && purged->counters < options.batch) break;
  }
  if (out.json()) {
    out.emit({{"purged", {{"challenges", total.challenges}, {"counters", total.counters}}},
              {"batches", batches},
              {"batch_size", options.batch},
              {"as_of", iso8601_utc(now)}});
  } else {
    std::cout << "purged " << total.challenges << " expired challenge"
              << (total.challenges == 1 ? "" : "s") << " and " << total.counters
              << " ended rate-limit counter" << (total.counters == 1 ? "" : "s") << " in "
              << batches << " batch" << (batches == 1 ? "" : "es") << " of at most "
              << options.batch << " rows per kind\n";
  }
  return kExitOk;
}

int run_retention(const CommonOptions& common) {
  const Output out(common.json);
  auto stores = open_stores(common, OpenMode::kExisting);
  if (!stores) return out.error(stores.status());
  const Timestamp now = SystemClock().now();
  auto stats = stores->retention().retention_stats(now);
  if (!stats) return out.error(stats.status());

  if (out.json()) {
    nlohmann::json kinds = nlohmann::json::array();
    for (const RowKindStats& s : *stats) {
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
    out.emit({{"as_of", iso8601_utc(now)}, {"kinds", kinds}});
    return kExitOk;
  }
  const auto time_or_dash = [](const std::optional<Timestamp>& t) {
    return t ? iso8601_utc(*t) : std::string("-");
  };
  std::cout << std::left << std::setw(12) << "kind" << std::right << std::setw(9) << "rows"
            << std::setw(9) << "expired" << std::setw(12) << "bytes"
            << "  " << std::left << std::setw(22) << "oldest created"
            << "earliest expiry\n";
  for (const RowKindStats& s : *stats) {
    std::ostringstream bytes;
    bytes << s.bytes << (s.bytes_method == BytesMethod::kEstimate ? "~" : "");
    std::cout << std::left << std::setw(12) << s.kind << std::right << std::setw(9) << s.rows
              << std::setw(9) << s.expired << std::setw(12) << bytes.str() << "  " << std::left
              << std::setw(22) << time_or_dash(s.oldest_created) << time_or_dash(s.earliest_expiry)
              << '\n';
  }
  std::cout << "\nbytes: pages of each table and its indexes"
            << " (~ marks a per-row estimate); expired: what `veribind purge` removes now\n";
  for (const RowKindStats& s : *stats) {
    const RowKindDescription* d = describe_row_kind(s.kind);
    if (d == nullptr) continue;
    std::cout << '\n'
              << s.kind << "\n  kept     " << d->retention << "\n  reveals  " << d->reveals << '\n';
  }
  return kExitOk;
}

}  // namespace veribind::cli
