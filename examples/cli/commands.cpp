// keygen, normalize, start, check, link, find.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <utility>

#include "cli.hpp"

namespace veribind::cli {

namespace {

// The checks Verifier::check() makes before it touches the store, made earlier so that the store
// is not even opened for input that could never verify.
Status validate_check_input(const CommonOptions& common, std::string_view challenge,
                            std::string_view code) {
  if (auto id = ChallengeId::parse(challenge); !id) {
    return Status(id.code(), "--challenge: " + id.status().message());
  }
  if (Status s = common.verifier().validate_code(code); !s) {
    return {s.code(), "--code: " + s.message()};
  }
  return Status::ok();
}

Result<Purpose> parse_purpose(const std::string& name) {
  const std::optional<Purpose> purpose = purpose_from_name(name);
  if (!purpose) {
    return Status(ErrorCode::kInvalidArgument,
                  "--purpose: expected signup, login, recovery or change-identifier");
  }
  return *purpose;
}

// Registry::link() validates the account id too, but only after check() has consumed the
// challenge; checking first keeps a typo in --account from burning a good code.
Status validate_account_id(std::string_view account) {
  if (Status s = Registry::validate_account_id(account); !s) {
    return {s.code(), "--account: " + s.message()};
  }
  return Status::ok();
}

// Prints a CheckResult that did not verify; returns kExitRefused.
int report_not_verified(const Output& out, const CheckResult& result) {
  const std::string_view outcome = check_outcome_name(result.outcome);
  const std::string_view answer = public_answer(result.outcome);
  if (out.json()) {
    nlohmann::json object = {{"outcome", outcome}, {"answer", answer}};
    if (result.outcome == CheckOutcome::kWrongCode) object["attempts_left"] = result.attempts_left;
    out.emit(object);
  } else {
    std::cout << "outcome        " << outcome;
    if (result.outcome == CheckOutcome::kWrongCode) {
      std::cout << " (" << result.attempts_left << " attempt"
                << (result.attempts_left == 1 ? "" : "s") << " left)";
    }
    std::cout << "\npublic answer  " << answer
              << "   (what an end user should be shown for any failure)\n";
  }
  return kExitRefused;
}

}  // namespace

int run_keygen(const CommonOptions& common) {
  const Output out(common.json);
  // As version 1, which refuses when any version exists (a retired v1 is not recreated either).
  if (Status s = KeyRing::generate_key_file(common.key_file, 1); !s) return out.error(s);
  if (out.json()) {
    out.emit(
        {{"key_file", common.key_file}, {"bytes", KeyRing::kMasterKeyBytes}, {"mode", "0600"}});
  } else {
    std::cout << "wrote a new " << KeyRing::kMasterKeyBytes << "-byte master key to "
              << common.key_file << " (mode 0600)\n"
              << "keep it secret and backed up: without it no stored index can be matched again\n";
  }
  return kExitOk;
}

int run_normalize(const CommonOptions& common, const IdentifierOptions& options) {
  const Output out(common.json);
  // Every type is accepted here: normalize shows what a number is, it does not decide policy.
  auto identifier = parse_identifier(options);
  if (!identifier) return out.error(identifier.status());

  // The blind index needs the key; without one, normalize still answers everything else.
  std::optional<BlindIndex> index;
  if (std::error_code ec; std::filesystem::exists(common.key_file, ec)) {
    auto ring = KeyRing::load_key_file(common.key_file);
    if (!ring) return out.error(ring.status());  // there is a key, but it is unsafe or broken
    auto indexer = BlindIndexer::create(*ring);
    if (!indexer) return out.error(indexer.status());
    index = indexer->compute(*identifier);
  }

  nlohmann::json object = {{"channel", channel_name(identifier->channel())},
                           {"canonical", identifier->canonical()},
                           {"masked", identifier->masked()}};
  if (const PhoneNumber* phone = identifier->phone()) {
    object["region"] = phone->region();
    object["type"] = phone_type_name(phone->type());
    object["calling_code"] = phone->calling_code();
  } else {
    object["domain"] = identifier->email()->domain();
  }
  if (index) {
    object["blind_index"] = index->hex();
    object["key_version"] = index->key_version;
  }
  if (out.json()) {
    out.emit(object);
    return kExitOk;
  }
  std::cout << "canonical     " << identifier->canonical() << '\n'
            << "channel       " << channel_name(identifier->channel()) << '\n';
  if (const PhoneNumber* phone = identifier->phone()) {
    std::cout << "region        " << phone->region() << " (+" << phone->calling_code() << ")\n"
              << "type          " << phone_type_name(phone->type()) << '\n';
  } else {
    std::cout << "domain        " << identifier->email()->domain() << '\n';
  }
  std::cout << "masked        " << identifier->masked() << '\n';
  if (index) {
    std::cout << "blind index   " << index->hex() << " (key version " << index->key_version
              << ")\n";
  } else {
    std::cout << "blind index   (no key file at " << common.key_file << ")\n";
  }
  return kExitOk;
}

int run_start(const CommonOptions& common, const StartOptions& options) {
  const Output out(common.json);
  const auto purpose = parse_purpose(options.purpose);
  if (!purpose) return out.error(purpose.status());
  VerifierConfig config = common.verifier();
  config.resend_cooldown = std::chrono::seconds(options.resend_cooldown_seconds);
  if (Status s = config.validate(); !s) return out.error(s);
  auto identifier = parse_identifier(options.identifier);
  if (!identifier) return out.error(identifier.status());
  // start() would refuse a premium-rate or VoIP number too; refusing it here keeps the database
  // from even being created for a request that can never send.
  if (const PhoneNumber* phone = identifier->phone();
      phone != nullptr && !config.sms_phone_types.contains(phone->type())) {
    return out.error(ErrorCode::kPhoneTypeNotAllowed,
                     "codes are not sent to numbers of type " +
                         std::string(phone_type_name(phone->type())) + " (SMS-pumping guard)");
  }
  // Real delivery when the configuration has it, set up (secret files read, templates checked)
  // before the database is touched; otherwise the development sender, which says plainly that
  // nothing was sent.
  const SystemClock clock;
  std::unique_ptr<CliDelivery> delivery;
  if (common.config != nullptr && common.config->delivery) {
    auto opened = open_delivery(*common.config, clock);
    if (!opened) return out.error(opened.status());
    if (Status s = (*opened)->serves(*common.config, identifier->channel()); !s) {
      return out.error(s);
    }
    delivery = std::move(opened).value();
  }
  auto ring = load_key(common.key_file);
  if (!ring) return out.error(ring.status());
  auto stores = open_stores(common, OpenMode::kCreate);
  if (!stores) return out.error(stores.status());

  ConsoleSender console(std::cerr);
  JsonLineSender json_lines;
  Sender& sender = delivery != nullptr ? static_cast<Sender&>(*delivery->outbox)
                   : out.json()        ? static_cast<Sender&>(json_lines)
                                       : console;
  auto verifier = Verifier::create(config, *ring, stores->verification(), sender, clock);
  if (!verifier) return out.error(verifier.status());
  RequestContext context;
  context.locale = options.locale;
  auto challenge = verifier->start(*identifier, *purpose, context);
  if (!challenge) return out.error(challenge.status());
  if (!challenge->sent()) {
    // An operator tool says which limit refused, and until when; an end-user facing backend would
    // show public_answer(*challenge) instead, the same as for a sent code.
    const Refusal& refusal = challenge->refusal;
    std::string message = "no code sent: limit " + std::string(limit_name(refusal.limit));
    if (refusal.retry_at != Timestamp{}) message += ", retry at " + iso8601_utc(refusal.retry_at);
    return out.error(refusal_error_code(refusal.limit), message);
  }

  // A short-lived process: the message must have left before it exits.
  nlohmann::json attempts;
  if (delivery != nullptr) {
    auto state = delivery->finish(challenge->id);
    const Status outcome = state ? delivery->outcome_status(challenge->id) : state.status();
    attempts = delivery->report_json(challenge->id);
    if (!outcome) {
      // A code that never reached anyone must not stay checkable; the outbox stops first, so
      // that no attempt still due sends the code after it was voided.
      (void)delivery->outbox->shutdown(std::chrono::milliseconds(0));
      if (auto id = ChallengeId::parse(challenge->id)) {
        (void)stores->verification().consume_challenge(*id);
      }
      if (!out.json()) {
        delivery->print_report(challenge->id);
        return out.error(outcome);
      }
      out.emit(
          {{"error", {{"code", error_code_name(outcome.code())}, {"message", outcome.message()}}},
           {"attempts", attempts}});
      return exit_code_for(outcome.code());
    }
  }

  const std::string expires = iso8601_utc(challenge->expires_at);
  if (out.json()) {
    nlohmann::json object = {{"challenge", challenge->id},
                             {"to", challenge->masked_destination},
                             {"channel", channel_name(challenge->channel)},
                             {"purpose", purpose_name(challenge->purpose)},
                             {"expires_at", expires}};
    if (delivery != nullptr) object["attempts"] = attempts;
    out.emit(object);
  } else {
    std::cout << "challenge   " << challenge->id << '\n'
              << "sent to     " << challenge->masked_destination << " ("
              << channel_name(challenge->channel) << ")\n";
    if (delivery != nullptr) delivery->print_report(challenge->id);
    std::cout << "purpose     " << purpose_name(challenge->purpose) << '\n'
              << "expires     " << expires << '\n'
              << "next        veribind check --challenge " << challenge->id << " --code <code>\n";
  }
  return kExitOk;
}

// What check and link share: the key, an existing store, and a verifier over them. Pinned in
// memory because the verifier refers to the others.
struct CheckSession {
  CheckSession(KeyRing key, Stores opened) : ring(std::move(key)), stores(std::move(opened)) {}
  KeyRing ring;
  Stores stores;
  SystemClock clock;
  ConsoleSender unused_sender{std::cerr};  // check() never sends
  std::optional<Verifier> verifier;
};

Result<std::unique_ptr<CheckSession>> open_check_session(
    const CommonOptions& common, ContactKeyUse contact_keys = ContactKeyUse::kNone,
    const std::string& contact_keys_path = {}) {
  auto ring = load_key(common.key_file);
  if (!ring) return ring.status();
  auto stores = open_stores(common, OpenMode::kExisting, contact_keys, contact_keys_path);
  if (!stores) return stores.status();
  auto session = std::make_unique<CheckSession>(std::move(ring).value(), std::move(stores).value());
  auto verifier = Verifier::create(common.verifier(), session->ring, session->stores.verification(),
                                   session->unused_sender, session->clock);
  if (!verifier) return verifier.status();
  session->verifier.emplace(std::move(verifier).value());
  return session;
}

int run_check(const CommonOptions& common, const CheckOptions& options) {
  const Output out(common.json);
  if (Status s = validate_check_input(common, options.challenge, options.code); !s)
    return out.error(s);
  const auto purpose = parse_purpose(options.purpose);
  if (!purpose) return out.error(purpose.status());
  auto session = open_check_session(common);
  if (!session) return out.error(session.status());

  auto result = (*session)->verifier->check(options.challenge, options.code, *purpose);
  if (!result) return out.error(result.status());
  if (result->outcome != CheckOutcome::kVerified) return report_not_verified(out, *result);

  const VerifiedIdentifier& verified = *result->verified;
  if (out.json()) {
    out.emit({{"outcome", check_outcome_name(result->outcome)},
              {"answer", public_answer(result->outcome)},
              {"channel", channel_name(verified.channel())},
              {"purpose", purpose_name(verified.purpose())}});
  } else {
    std::cout << "outcome        verified (" << channel_name(verified.channel()) << ", "
              << purpose_name(verified.purpose()) << "); the challenge is now used up\n"
              << "public answer  " << public_answer(result->outcome) << '\n';
  }
  return kExitOk;
}

int run_link(const CommonOptions& common, const LinkOptions& options) {
  const Output out(common.json);
  if (Status s = validate_account_id(options.account); !s) return out.error(s);
  auto policy = LinkPolicy::by_name(options.policy);
  if (!policy) return out.error(policy.code(), "--policy: " + policy.status().message());
  if (Status s = validate_check_input(common, options.challenge, options.code); !s)
    return out.error(s);
  const auto purpose = parse_purpose(options.purpose);
  if (!purpose) return out.error(purpose.status());
  if (*purpose != Purpose::kSignup && *purpose != Purpose::kChangeIdentifier) {
    return out.error(ErrorCode::kInvalidArgument,
                     "--purpose: only signup and change-identifier codes can link an account");
  }
  const std::optional<RetainContact> retain = retain_contact_from_name(options.retain_contact);
  if (!retain) return out.error(ErrorCode::kInvalidArgument, "--retain-contact: none or sealed");
  policy->retain_contact = *retain;
  // The identifier itself: to seal it, and to count its bindings under every key version.
  std::optional<Identifier> identifier;
  if (options.identifier.phone || options.identifier.email) {
    // Parsed as start parses it (the presets' email options are the defaults), so that it
    // matches the verified one.
    auto parsed = parse_identifier(options.identifier);
    if (!parsed) return out.error(parsed.status());
    identifier.emplace(std::move(parsed).value());
  } else if (*retain == RetainContact::kSealed) {
    return out.error(ErrorCode::kIdentifierRequired,
                     "--retain-contact sealed needs --phone or --email: the verified identifier "
                     "is what gets sealed");
  }
  // The contact key store only when sealing: nothing else in a link needs it.
  auto session = open_check_session(
      common, *retain == RetainContact::kSealed ? ContactKeyUse::kCreate : ContactKeyUse::kNone,
      options.contact_keys);
  if (!session) return out.error(session.status());
  CheckSession& s = **session;
  if (!identifier && s.ring.versions().size() > 1) {
    return out.error(ErrorCode::kIdentifierRequired,
                     "several key versions are active: give --phone or --email too, so that "
                     "bindings under every version count");
  }
  auto registry = s.stores.registry(std::move(policy).value(), s.ring, s.clock);
  if (!registry) return out.error(registry.status());

  // Refusals that do not depend on other accounts come before the code is spent.
  if (Status pre = registry->preflight(options.account, *s.verifier, options.challenge, *purpose);
      !pre) {
    return out.error(pre);
  }
  auto result = s.verifier->check(options.challenge, options.code, *purpose);
  if (!result) return out.error(result.status());
  if (result->outcome != CheckOutcome::kVerified) return report_not_verified(out, *result);
  const Channel channel = result->verified->channel();
  const Status linked =
      identifier ? registry->link(options.account, std::move(*result->verified), *identifier)
                 : registry->link(options.account, std::move(*result->verified));
  if (!linked) return out.error(linked);
  auto bound = s.stores.accounts().bindings_of_account(options.account);
  if (!bound) return out.error(bound.status());
  BlindIndex index;
  for (const BindingRecord& b : *bound) {
    if (b.channel == channel) index = b.index;
  }

  const std::string& policy_name = registry->policy().name;
  const std::string_view contact = retain_contact_name(*retain);
  if (out.json()) {
    out.emit({{"outcome", "verified"},
              {"account", options.account},
              {"policy", policy_name},
              {"channel", channel_name(channel)},
              {"blind_index", index.hex()},
              {"key_version", index.key_version},
              {"contact", contact}});
  } else {
    std::cout << "linked        account " << options.account << " under the " << policy_name
              << " policy\n"
              << "bound to      " << channel_name(channel) << " blind index " << index.hex()
              << " (key version " << index.key_version << ")\n"
              << "contact       "
              << (*retain == RetainContact::kSealed
                      ? "sealed (data key in " + options.contact_keys + ")"
                      : std::string("not retained"))
              << '\n';
  }
  return kExitOk;
}

int run_unlink(const CommonOptions& common, const UnlinkOptions& options) {
  const Output out(common.json);
  // The form only, as Registry::unlink(): an id holding personal data, stored before such ids
  // were refused, can still be unlinked (which removes it).
  if (Status s = Registry::validate_account_id_form(options.account); !s) {
    return out.error(s.code(), "--account: " + s.message());
  }
  auto ring = load_key(common.key_file);
  if (!ring) return out.error(ring.status());
  // A sealed contact's data key goes with its binding, so the key store is used if there is one.
  auto stores =
      open_stores(common, OpenMode::kExisting, ContactKeyUse::kIfPresent, options.contact_keys);
  if (!stores) return out.error(stores.status());
  const SystemClock clock;
  // unlink() removes the account's bindings on every channel; the policy plays no part.
  auto registry = stores->registry(LinkPolicy::phone_linked(), *ring, clock);
  if (!registry) return out.error(registry.status());
  auto removed = registry->unlink(options.account);
  if (!removed) return out.error(removed.status());
  if (out.json()) {
    out.emit({{"account", options.account}, {"removed", *removed}});
  } else {
    std::cout << "unlinked      account " << options.account << ": " << *removed << " binding"
              << (*removed == 1 ? "" : "s") << " removed\n";
  }
  return kExitOk;
}

int run_find(const CommonOptions& common, const IdentifierOptions& options) {
  const Output out(common.json);
  auto identifier = parse_identifier(options);
  if (!identifier) return out.error(identifier.status());
  LinkPolicy policy = identifier->channel() == Channel::kPhone ? LinkPolicy::phone_linked()
                                                               : LinkPolicy::email_linked();
  auto ring = load_key(common.key_file);
  if (!ring) return out.error(ring.status());
  auto stores = open_stores(common, OpenMode::kExisting);
  if (!stores) return out.error(stores.status());

  const SystemClock clock;
  auto registry = stores->registry(std::move(policy), *ring, clock);
  if (!registry) return out.error(registry.status());
  auto accounts = registry->find(*identifier);
  if (!accounts) return out.error(accounts.status());

  const std::string& policy_name = registry->policy().name;
  if (out.json()) {
    out.emit({{"policy", policy_name}, {"accounts", *accounts}});
  } else if (accounts->empty()) {
    std::cout << "no account is bound to this identifier (" << policy_name << " policy)\n";
  } else {
    std::cout << "accounts bound under the " << policy_name << " policy:\n";
    for (const std::string& account : *accounts) std::cout << "  " << account << '\n';
  }
  return kExitOk;
}

}  // namespace veribind::cli
