// compare_policies(): the arithmetic and the wording of `veribind compare`. No measuring here.
#include "veribind/compare.hpp"

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

namespace veribind {
namespace {

bool finite_non_negative(double v) { return std::isfinite(v) && v >= 0; }
bool finite_positive(double v) { return std::isfinite(v) && v > 0; }

std::string printf_string(const char* format, double v) {
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// 3 significant digits; scientific from a million up, so that spaces of 10^9 read at a glance.
std::string format_count(double v) {
  if (v < 1e6) return printf_string("%.0f", v);
  int exponent = static_cast<int>(std::floor(std::log10(v)));
  double mantissa = v / std::pow(10.0, exponent);
  if (mantissa >= 9.995) {  // 9.996e8 would print as 10.00e8
    mantissa /= 10;
    ++exponent;
  }
  return printf_string("%.2f", mantissa) + "e" + std::to_string(exponent);
}

std::string format_usd(double v) {
  if (v == 0) return "USD 0";
  if (v >= 100) return "USD " + printf_string("%.0f", v);
  if (v >= 0.01) return "USD " + printf_string("%.2f", v);
  return "USD " + printf_string("%.2g", v);
}

CompareCell number(double value, std::string text) { return {value, std::move(text)}; }
CompareCell words(std::string text) { return {std::nullopt, std::move(text)}; }

CompareCell duration(double seconds) { return {seconds, format_duration(seconds)}; }

}  // namespace

std::string format_duration(double seconds) {
  constexpr double kMinute = 60, kHour = 3600, kDay = 86400, kYear = 365.25 * kDay;
  if (!std::isfinite(seconds)) return "unbounded";
  if (seconds < 1) return printf_string("%.2g s", seconds);
  if (seconds < 100) return printf_string("%.0f s", seconds);
  if (seconds < 100 * kMinute) return printf_string("%.0f min", seconds / kMinute);
  if (seconds < 48 * kHour) return printf_string("%.1f h", seconds / kHour);
  if (seconds < kYear) return printf_string("%.0f days", seconds / kDay);
  if (seconds < 1e4 * kYear) return printf_string("%.1f years", seconds / kYear);
  return printf_string("%.2g years", seconds / kYear);
}

std::string_view basis_name(Basis basis) noexcept {
  switch (basis) {
    case Basis::kMeasured: return "measured";
    case Basis::kDerived: return "derived";
    case Basis::kAssumed: return "assumed";
  }
  return "assumed";
}

Status CompareAssumptions::validate() const {
  const std::pair<const char*, double> fields[] = {
      {"sim_price_usd", sim_price_usd},
      {"email_account_price_usd", email_account_price_usd},
      {"sms_price_usd", sms_price_usd},
      {"email_price_usd", email_price_usd},
      {"send_budget_per_hour", send_budget_per_hour},
      {"breach_list_addresses", breach_list_addresses},
      {"attacker_cores", attacker_cores}};
  for (const auto& [name, value] : fields) {
    if (!finite_non_negative(value)) {
      return {ErrorCode::kInvalidArgument,
              std::string(name) + " must be a finite number, 0 or more"};
    }
  }
  if (attacker_cores < 1) return {ErrorCode::kInvalidArgument, "attacker_cores must be 1 or more"};
  return Status::ok();
}

Status CompareMeasurements::validate() const {
  const std::pair<const char*, double> fields[] = {
      {"mobile_space.numbers", mobile_space.numbers},
      {"blind_index.per_second", blind_index.per_second},
      {"sha256.per_second", sha256.per_second},
      {"argon2id.seconds_per_hash", argon2id.seconds_per_hash},
      {"phone_binding.per_account", phone_binding.per_account},
      {"email_binding.per_account", email_binding.per_account}};
  for (const auto& [name, value] : fields) {
    if (!finite_positive(value)) {
      return {ErrorCode::kInvalidArgument, std::string(name) + " must be a positive number"};
    }
  }
  if (!finite_non_negative(mobile_space.standard_error)) {
    return {ErrorCode::kInvalidArgument, "mobile_space.standard_error must be 0 or more"};
  }
  return Status::ok();
}

Result<std::vector<CompareRow>> compare_policies(const CompareMeasurements& m,
                                                 const CompareAssumptions& a) {
  if (Status s = m.validate(); !s) return s;
  if (Status s = a.validate(); !s) return s;

  const double space = m.mobile_space.numbers;
  const double breach = a.breach_list_addresses;
  const double cores = a.attacker_cores;
  std::string lengths;
  for (int l : m.mobile_space.lengths) {
    if (!lengths.empty()) lengths += ',';
    lengths += std::to_string(l);
  }
  const std::string cores_text = cores == 1 ? "one core" : format_count(cores) + " cores";

  std::vector<CompareRow> rows;
  rows.push_back(
      {"identifier_space", "identifier space", Basis::kMeasured, "numbers",
       number(space, format_count(space) + " mobile numbers (+" +
                         std::to_string(m.mobile_space.calling_code) + ", " + lengths + " digits)"),
       words("not enumerable: 64-octet local part times any domain"),
       "counted from libphonenumber's metadata for " + m.mobile_space.region +
           " by stratified sampling of " + format_count(double(m.mobile_space.tested)) +
           " numbers, standard error " + format_count(m.mobile_space.standard_error)});
  rows.push_back({"guessable_identifiers", "identifiers an attacker can list", Basis::kAssumed,
                  "identifiers", number(space, "all " + format_count(space) + " (the space above)"),
                  number(breach, format_count(breach) + " from breach lists"),
                  "--breach-list-addresses; real addresses are guessed from leaks, not generated"});
  rows.push_back({"blind_index_rate", "keyed blind index (BLAKE2b), hashes per second per core",
                  Basis::kMeasured, "per_second",
                  number(m.blind_index.per_second, format_count(m.blind_index.per_second) + "/s"),
                  number(m.blind_index.per_second, "same (one BLAKE2b block)"),
                  "BlindIndexer::compute on this machine, median of " +
                      std::to_string(m.blind_index.rounds) + " rounds of " +
                      std::to_string(m.blind_index.per_round)});
  rows.push_back({"enumerate_if_key_leaks", "time to reverse every index if the key leaks",
                  Basis::kDerived, "seconds", duration(space / (m.blind_index.per_second * cores)),
                  duration(breach / (m.blind_index.per_second * cores)),
                  "space (phone) or breach list (email) / blind-index rate, on " + cores_text +
                      "; without the key: impossible"});
  rows.push_back({"sha256_rate", "naive unkeyed SHA-256 index, hashes per second per core",
                  Basis::kMeasured, "per_second",
                  number(m.sha256.per_second, format_count(m.sha256.per_second) + "/s"),
                  number(m.sha256.per_second, "same"),
                  "crypto_hash_sha256 of the E.164 number on this machine, median of " +
                      std::to_string(m.sha256.rounds) + " rounds"});
  rows.push_back({"enumerate_sha256",
                  "time to reverse a leaked naive SHA-256 table (no key needed)", Basis::kDerived,
                  "seconds", duration(space / (m.sha256.per_second * cores)),
                  duration(breach / (m.sha256.per_second * cores)),
                  "what a database leak alone costs without a key, on " + cores_text});
  rows.push_back({"argon2id_cost", "Argon2id index, seconds per hash", Basis::kMeasured, "seconds",
                  duration(m.argon2id.seconds_per_hash), duration(m.argon2id.seconds_per_hash),
                  "crypto_pwhash argon2id13, opslimit " +
                      std::to_string(m.argon2id_params.opslimit) + ", memlimit " +
                      std::to_string(m.argon2id_params.memlimit_bytes >> 20) +
                      " MiB; the server pays it on every start, check and lookup too"});
  rows.push_back({"enumerate_argon2id", "time to reverse a leaked Argon2id table", Basis::kDerived,
                  "seconds", duration(space * m.argon2id.seconds_per_hash / cores),
                  duration(breach * m.argon2id.seconds_per_hash / cores),
                  "space or breach list x cost per hash, on " + cores_text +
                      " (memory-hard: GPUs gain less than on SHA-256)"});
  rows.push_back(
      {"fake_account_cost", "cost of one fake account's identifier", Basis::kAssumed, "usd",
       number(a.sim_price_usd, format_usd(a.sim_price_usd) + " (a SIM)"),
       number(a.email_account_price_usd, format_usd(a.email_account_price_usd) + " (free mail)"),
       "--sim-price-usd, --email-account-price-usd"});
  rows.push_back({"verification_cost", "cost of sending one code", Basis::kAssumed, "usd",
                  number(a.sms_price_usd, format_usd(a.sms_price_usd) + " (SMS)"),
                  number(a.email_price_usd, format_usd(a.email_price_usd) + " (email)"),
                  "--sms-price-usd, --email-price-usd"});
  rows.push_back({"send_budget", "codes the platform sends per hour, at most", Basis::kAssumed,
                  "per_hour", number(a.send_budget_per_hour, format_count(a.send_budget_per_hour)),
                  number(a.send_budget_per_hour, format_count(a.send_budget_per_hour)),
                  "--send-budget-per-hour; per-identifier limits do not cap it: a pumping "
                  "attacker uses many numbers"});
  const double sms_exposure = a.send_budget_per_hour * a.sms_price_usd;
  const double email_exposure = a.send_budget_per_hour * a.email_price_usd;
  rows.push_back({"pumping_exposure", "worst-case spend per hour under SMS pumping",
                  Basis::kDerived, "usd_per_hour",
                  number(sms_exposure, format_usd(sms_exposure) + "/h"),
                  number(email_exposure, format_usd(email_exposure) + "/h (no premium routes)"),
                  "send budget x price per code; fraudsters share SMS revenue, not email"});
  rows.push_back(
      {"bytes_per_account", "bytes stored per bound account", Basis::kMeasured, "bytes",
       number(m.phone_binding.per_account, printf_string("%.0f", m.phone_binding.per_account)),
       number(m.email_binding.per_account, printf_string("%.0f", m.email_binding.per_account)),
       std::string("growth of the bindings table and its indexes per account (") +
           std::string(bytes_method_name(m.phone_binding.method)) +
           "); the same blind-index row either way"});
  rows.push_back(
      {"lawful_request_reveals", "a lawful request can reveal", Basis::kDerived, "",
       words("which accounts are bound to this exact number, since when; with the carrier's "
             "subscriber record (SIM registration), a legal identity"),
       words("which accounts are bound to this exact address, since when; an identity only if "
             "the mail provider holds one"),
       "the store answers only an exact identifier: it holds its blind index, nothing else"});
  rows.push_back(
      {"lawful_request_cannot_reveal", "a lawful request cannot reveal", Basis::kDerived, "",
       words("an account's number, or any list of numbers, without the key; with the key, every "
             "number (the space is enumerable, see above)"),
       words("an account's address, or any list of addresses, without the key; with the key, "
             "only addresses guessed from lists"),
       "no plaintext at rest; codes are never stored"});
  return rows;
}

}  // namespace veribind
