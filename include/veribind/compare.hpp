// The two linking policies side by side (`veribind compare`): what binding accounts to a phone
// number (LinkPolicy::phone_linked) or to an email address (LinkPolicy::email_linked) costs and
// exposes, one row per property, each row saying whether its figures were measured on this
// machine, derived from measured and assumed figures, or assumed (given by the operator).
//
// The measuring functions below do the slow, machine-dependent work; compare_policies() is a pure
// function from their results and the assumptions to the rows, so the arithmetic is testable with
// fixed inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/account_store.hpp"
#include "veribind/identifier.hpp"
#include "veribind/result.hpp"
#include "veribind/retention.hpp"

namespace veribind {

// Told of progress during a long measurement: what is being measured, and how far along it is.
using Progress = std::function<void(std::string_view what, std::size_t done, std::size_t total)>;

// --- the region's mobile number space ------------------------------------------------------------

struct MobileSpaceOptions {
  // Random numbers tested per prefix (stratum) before deciding whether to split it further; a
  // stratum with no more numbers than this is counted exactly. 2..1e7.
  std::size_t samples_per_stratum = 16;
  int min_prefix_digits = 3;  // strata are at least this many leading digits; 1..6
  int max_prefix_digits = 6;  // and split at most this far; min_prefix_digits..9
  std::uint64_t seed = 1;     // of the (non-cryptographic) sampler, so a run can be repeated
};

struct MobileSpaceEstimate {
  std::string region;
  int calling_code = 0;
  std::vector<int> lengths;        // national significant number lengths a mobile number may have
  double numbers = 0;              // estimated MOBILE + FIXED_LINE_OR_MOBILE numbers of the region
  double standard_error = 0;       // sampling error of the strata found mixed at the deepest split
  std::uint64_t tested = 0;        // numbers classified by libphonenumber
  std::uint64_t strata = 0;        // prefixes whose count was decided (exactly or by sampling)
  std::uint64_t mixed_strata = 0;  // of which still mixed at max_prefix_digits
};

// Estimates how many mobile numbers `region` (ISO 3166-1 alpha-2, e.g. "PK") has, from
// libphonenumber's metadata, through its public API only (which hides the metadata itself):
// 1. The mobile lengths are those L for which IsPossibleNumberForType(MOBILE) says IS_POSSIBLE
//    (libphonenumber decides that from the region's possible lengths alone), and calling code
//    plus L fits E.164's 15 digits.
// 2. For each L, the numbers are split into strata by leading digits (min_prefix_digits first);
//    in each, samples_per_stratum random numbers are built directly as PhoneNumber protos (no
//    parsing) and classified with GetNumberType (and, where several regions share the calling
//    code, GetRegionCodeForNumber). A stratum whose samples all agree counts as wholly mobile or
//    wholly not; a mixed one is split by its next digit, down to max_prefix_digits, where the
//    sampled fraction is used and its binomial variance goes into standard_error.
// The error beyond standard_error comes from strata where a small minority escaped every sample;
// metadata patterns are digit-prefix classes, so at 3+ leading digits that is rare (the tests
// compare estimates with exhaustive counts). Errors: kInvalidArgument (unknown region, options
// out of range); kPhoneTypeNotAllowed if the region has no mobile numbers at all.
[[nodiscard]] Result<MobileSpaceEstimate> estimate_mobile_space(
    std::string_view region, const MobileSpaceOptions& options = {}, const Progress& progress = {});

// --- hashing rates ------------------------------------------------------------------------------

struct RateMeasurement {
  double per_second = 0;        // per_round / median round time
  double seconds_per_hash = 0;  // the inverse
  std::size_t per_round = 0;
  std::size_t rounds = 0;
};

// `count` E.164 strings of random mobile numbers of the region (valid ones where 1000 random tries
// find one, else random digits of a mobile length), as the input of the rate measurements.
// Errors as estimate_mobile_space.
[[nodiscard]] Result<std::vector<std::string>> sample_mobile_numbers(std::string_view region,
                                                                     std::size_t count,
                                                                     std::uint64_t seed = 1);

// BlindIndexer::compute over `numbers` (cycled) under a fresh random key: `rounds` rounds of
// `per_round` indexes, rate from the median round. kInvalidArgument for an empty list or a zero.
[[nodiscard]] Result<RateMeasurement> measure_blind_index_rate(
    const std::vector<std::string>& numbers, std::size_t per_round, std::size_t rounds,
    const Progress& progress = {});

// The same for a naive, unkeyed design: index = SHA-256(E.164 number) (libsodium).
[[nodiscard]] Result<RateMeasurement> measure_sha256_rate(const std::vector<std::string>& numbers,
                                                          std::size_t per_round, std::size_t rounds,
                                                          const Progress& progress = {});

// An Argon2id-indexed option: index = Argon2id(number, salt = a fixed per-deployment value),
// libsodium crypto_pwhash with ALG_ARGON2ID13. The defaults are libsodium's "interactive" limits.
struct Argon2idParams {
  std::uint64_t opslimit = 2;              // passes; 1..crypto_pwhash_OPSLIMIT_MAX
  std::size_t memlimit_bytes = 64u << 20;  // 8 KiB..4 GiB
  [[nodiscard]] Status validate() const;   // kInvalidArgument naming the field
};

// `hashes` Argon2id hashes, one per round (each is slow); per_round = 1, rounds = hashes.
// kInvalidArgument (bad params, zero hashes); kUnavailable if the memory cannot be had.
[[nodiscard]] Result<RateMeasurement> measure_argon2id_rate(const std::vector<std::string>& numbers,
                                                            const Argon2idParams& params,
                                                            std::size_t hashes,
                                                            const Progress& progress = {});

// --- bytes per account
// ----------------------------------------------------------------------------

struct BindingBytes {
  double per_account = 0;  // growth of the store's "bindings" bytes per binding added
  BytesMethod method = BytesMethod::kEstimate;
};

// Binds `accounts` accounts (36-character ids, random blind indexes) on `channel` in `store`,
// reads `report`'s retention_stats (the same backend as `store`) before and after, then unlinks
// them again. Give it a scratch store: the bytes of other writers would count. A store that grows
// by pages (SQLite: 4 KiB) needs enough accounts to fill many pages: the error is about one page /
// accounts. kInvalidArgument for zero accounts; store errors.
[[nodiscard]] Result<BindingBytes> measure_binding_bytes(AccountStore& store,
                                                         RetentionReport& report, Channel channel,
                                                         std::size_t accounts, Timestamp now);

// --- the comparison
// -------------------------------------------------------------------------------

enum class Basis : std::uint8_t { kMeasured, kDerived, kAssumed };
// "measured" / "derived" / "assumed".
[[nodiscard]] std::string_view basis_name(Basis basis) noexcept;

// The operator's assumptions, each a `veribind compare` option of the same name.
struct CompareAssumptions {
  double sim_price_usd = 1.00;            // one prepaid SIM (a fake phone-linked account)
  double email_account_price_usd = 0.00;  // one free-mail account
  double sms_price_usd = 0.05;            // one verification SMS (A2P rates vary ~0.005-0.30)
  double email_price_usd = 0.0001;        // one transactional email (~USD 0.10 per 1,000)
  double send_budget_per_hour = 10000;    // codes the platform lets out per hour, all users
  double breach_list_addresses = 5e9;     // distinct addresses in public breach compilations
  double attacker_cores = 1;              // cores an attacker enumerating with a leaked key has
  // kInvalidArgument naming the field when one is negative, not finite, or (cores) below 1.
  [[nodiscard]] Status validate() const;
};

struct CompareMeasurements {
  MobileSpaceEstimate mobile_space;
  RateMeasurement blind_index;
  RateMeasurement sha256;
  RateMeasurement argon2id;
  Argon2idParams argon2id_params;
  BindingBytes phone_binding;
  BindingBytes email_binding;
  // kInvalidArgument when a rate or a byte figure is not positive and finite.
  [[nodiscard]] Status validate() const;
};

struct CompareCell {
  std::optional<double> value;  // in the row's unit; empty for text-only cells
  std::string text;             // for people: the value formatted, or the statement
};

struct CompareRow {
  std::string key;       // stable, for scripts: "identifier_space", "enumerate_if_key_leaks", ...
  std::string property;  // for people
  Basis basis = Basis::kMeasured;
  std::string unit;   // of the values: "numbers", "per_second", "seconds", "usd", "bytes", ""
  CompareCell phone;  // phone_linked()
  CompareCell email;  // email_linked()
  std::string note;   // how the figure was had
};

// The rows, in a fixed order. Pure: the same inputs give the same rows.
// Errors: kInvalidArgument from the two validate() calls.
[[nodiscard]] Result<std::vector<CompareRow>> compare_policies(const CompareMeasurements& measured,
                                                               const CompareAssumptions& assumed);

// "42 s", "3.2 h", "17 days", "5.1 years", "2.3e6 years": how long `seconds` is, for people.
[[nodiscard]] std::string format_duration(double seconds);

}  // namespace veribind
