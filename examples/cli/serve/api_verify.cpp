// The verify routes: start, resend, check, bind. Their answers are the library's uniform public
// answers; what differs between outcomes goes only to the log's reason and to the metrics.

#include <array>

#include "serve/api_routes.hpp"

namespace veribind::serve {

namespace {

constexpr std::size_t kMaxCodeBytes = 16;
constexpr std::size_t kMaxIdBytes = 64;
constexpr std::size_t kMaxLocaleBytes = 16;

std::string_view api_channel_name(Channel channel) {
  return channel == Channel::kEmail ? "email" : "sms";
}

Result<Purpose> parse_purpose(std::string_view name) {
  const std::optional<Purpose> purpose = purpose_from_name(name);
  if (!purpose) {
    return Status(ErrorCode::kInvalidArgument,
                  "purpose must be signup, login, recovery or change-identifier");
  }
  return *purpose;
}

nlohmann::json challenge_json(std::string_view id, Channel channel, std::string_view masked,
                              Purpose purpose, Timestamp expires_at) {
  return {{"id", id},
          {"channel", api_channel_name(channel)},
          {"to", masked},
          {"purpose", purpose_name(purpose)},
          {"status", "pending"},
          {"expires_at", cli::iso8601_utc(expires_at)}};
}

// The 201 of a start or resend, whether a code was sent or a limit refused it.
HttpReply challenge_reply(const Challenge& challenge) {
  HttpReply reply =
      json_reply(201, challenge_json(challenge.id, challenge.channel, challenge.masked_destination,
                                     challenge.purpose, challenge.expires_at));
  if (!challenge.sent()) reply.reason = std::string(limit_name(challenge.refusal.limit));
  return reply;
}

// The outbox was full: the code was not sent, and the answer is the one every start gets. The id
// names no stored challenge, so a check of it is answered pending like any wrong code.
HttpReply outbox_full_reply(const RequestScope& scope, const Identifier& identifier,
                            Purpose purpose, std::string_view id) {
  const Timestamp expires =
      scope.services.clock.now() + std::chrono::duration_cast<std::chrono::milliseconds>(
                                       scope.services.verifier.config().code_ttl);
  HttpReply reply = json_reply(
      201, challenge_json(id, identifier.channel(), identifier.masked(), purpose, expires));
  reply.reason = std::string(error_code_name(ErrorCode::kOutboxFull));
  scope.services.metrics.count_start_refused(Limit::kNone);
  return reply;
}

// 422 channel_unavailable if `channel` names a channel that no provider serves, decided from the
// name alone: before the identifier is read and before any limit is consulted.
std::optional<HttpReply> unserved_channel(const RequestScope& scope, std::string_view channel) {
  const ServedChannels& served = scope.services.channels;
  if ((channel == "sms" && !served.sms) || (channel == "email" && !served.email)) {
    return api_error_reply(
        {422, "channel_unavailable", "no provider is configured for this channel"});
  }
  return std::nullopt;
}

}  // namespace

// Any phone type is read: which types may receive a code is the verifier's limit, answered like
// every other refusal.
Result<Identifier> parse_destination(std::string_view channel, std::string_view to,
                                     const std::string* region) {
  if (channel == "sms") {
    auto phone = PhoneNumber::parse(to, region != nullptr ? std::string_view(*region) : "",
                                    PhoneTypeSet::all());
    if (!phone) return Status(phone.code(), "to: " + phone.status().message());
    return Identifier(std::move(phone).value());
  }
  if (channel == "email") {
    if (region != nullptr) {
      return Status(ErrorCode::kInvalidArgument, "region applies to channel sms only");
    }
    auto email = EmailAddress::parse(to);
    if (!email) return Status(email.code(), "to: " + email.status().message());
    return Identifier(std::move(email).value());
  }
  return Status(ErrorCode::kInvalidArgument, "channel must be sms or email");
}

Result<Identifier> parse_destination(const JsonBody& body) {
  return parse_destination(body.string_or("channel", ""), body.string_or("to", ""),
                           body.string("region"));
}

HttpReply start_verification(const RequestScope& scope) {
  static constexpr std::array<FieldSpec, 5> kFields = {{
      {"to", FieldType::kString, true, kMaxDestinationBytes},
      {"channel", FieldType::kString, true, kMaxNameBytes},
      {"purpose", FieldType::kString, false, kMaxNameBytes},
      {"locale", FieldType::kString, false, kMaxLocaleBytes},
      {"region", FieldType::kString, false, kMaxNameBytes},
  }};
  JsonBody body;
  if (auto bad = read_json_body(scope.request, kFields, body)) return api_error_reply(*bad);
  if (auto refused = unserved_channel(scope, body.string_or("channel", ""))) return *refused;
  auto identifier = parse_destination(body);
  if (!identifier) return status_reply(identifier.status());
  auto purpose = parse_purpose(body.string_or("purpose", "signup"));
  if (!purpose) return status_reply(purpose.status());

  RequestContext context;
  context.client_key = scope.client_key;
  context.locale = body.string_or("locale", "");
  auto challenge = scope.services.verifier.start(*identifier, *purpose, context);
  if (!challenge) {
    if (challenge.code() == ErrorCode::kOutboxFull) {
      return outbox_full_reply(scope, *identifier, *purpose, ChallengeId::random().to_string());
    }
    return status_reply(challenge.status());
  }
  scope.services.metrics.count_start(*challenge);
  return challenge_reply(*challenge);
}

HttpReply resend_verification(const RequestScope& scope) {
  static constexpr std::array<FieldSpec, 4> kFields = {{
      {"to", FieldType::kString, true, kMaxDestinationBytes},
      {"channel", FieldType::kString, true, kMaxNameBytes},
      {"locale", FieldType::kString, false, kMaxLocaleBytes},
      {"region", FieldType::kString, false, kMaxNameBytes},
  }};
  JsonBody body;
  if (auto bad = read_json_body(scope.request, kFields, body)) return api_error_reply(*bad);
  if (auto id = ChallengeId::parse(scope.path_id); !id) return status_reply(id.status());
  if (auto refused = unserved_channel(scope, body.string_or("channel", ""))) return *refused;
  auto identifier = parse_destination(body);
  if (!identifier) return status_reply(identifier.status());

  // The challenge's purpose, read first: a resend the outbox refuses removes the challenge, and
  // its answer must still show what a sent one would.
  auto live = scope.services.verifier.live_challenge(scope.path_id);
  if (!live) return status_reply(live.status());
  const Purpose purpose = *live ? (*live)->purpose : Purpose::kSignup;

  RequestContext context;
  context.client_key = scope.client_key;
  context.locale = body.string_or("locale", "");
  auto challenge = scope.services.verifier.resend(scope.path_id, *identifier, context);
  if (!challenge) {
    if (challenge.code() == ErrorCode::kOutboxFull) {
      return outbox_full_reply(scope, *identifier, purpose, scope.path_id);
    }
    return status_reply(challenge.status());
  }
  scope.services.metrics.count_start(*challenge);
  return challenge_reply(*challenge);
}

HttpReply check_verification(const RequestScope& scope) {
  static constexpr std::array<FieldSpec, 2> kFields = {{
      {"code", FieldType::kString, true, kMaxCodeBytes},
      {"purpose", FieldType::kString, false, kMaxNameBytes},
  }};
  JsonBody body;
  if (auto bad = read_json_body(scope.request, kFields, body)) return api_error_reply(*bad);
  const std::string_view code = body.string_or("code", "");
  auto purpose = parse_purpose(body.string_or("purpose", "signup"));
  if (!purpose) return status_reply(purpose.status());

  RequestContext context;
  context.client_key = scope.client_key;
  // A malformed id or code is check()'s own kInvalidChallengeId / kInvalidCode (400), refused
  // before anything is charged: the request's shape, nothing about any challenge.
  auto result = scope.services.verifier.check(scope.path_id, code, *purpose, context);
  if (!result) return status_reply(result.status());
  scope.services.metrics.count_check(result->outcome);
  const bool verified = result->outcome == CheckOutcome::kVerified;
  HttpReply reply =
      json_reply(200, {{"status", verified ? "approved" : "pending"}, {"valid", verified}});
  reply.reason = std::string(check_outcome_name(result->outcome));
  return reply;
}

HttpReply bind_account(const RequestScope& scope) {
  // `to` (and `region`), optional: the identifier verified, which the registry needs while the
  // key ring holds several versions, so that bindings under every version count.
  static constexpr std::array<FieldSpec, 6> kFields = {{
      {"verification_id", FieldType::kString, true, kMaxIdBytes},
      {"code", FieldType::kString, true, kMaxCodeBytes},
      {"policy", FieldType::kString, false, kMaxNameBytes},
      {"purpose", FieldType::kString, false, kMaxNameBytes},
      {"to", FieldType::kString, false, kMaxDestinationBytes},
      {"region", FieldType::kString, false, kMaxNameBytes},
  }};
  const ApiServices& s = scope.services;
  JsonBody body;
  if (auto bad = read_json_body(scope.request, kFields, body)) return api_error_reply(*bad);
  // Everything that can be refused without the store is, before a good code could be spent.
  const std::string_view account = scope.path_id;
  if (Status v = Registry::validate_account_id(account); !v) return status_reply(v);
  const std::string_view policy = body.string_or("policy", s.default_policy);
  Registry* registry = policy == "phone-linked"   ? &s.phone_registry
                       : policy == "email-linked" ? &s.email_registry
                                                  : nullptr;
  if (registry == nullptr) {
    return status_reply(
        {ErrorCode::kInvalidArgument, "policy must be phone-linked or email-linked"});
  }
  const std::string_view challenge = body.string_or("verification_id", "");
  if (auto id = ChallengeId::parse(challenge); !id) {
    return status_reply({id.code(), "verification_id: " + id.status().message()});
  }
  const std::string_view code = body.string_or("code", "");
  if (Status v = s.verifier.config().validate_code(code); !v) return status_reply(v);
  auto purpose = parse_purpose(body.string_or("purpose", "signup"));
  if (!purpose) return status_reply(purpose.status());
  if (*purpose != Purpose::kSignup && *purpose != Purpose::kChangeIdentifier) {
    return status_reply({ErrorCode::kInvalidArgument,
                         "purpose: only signup and change-identifier codes can bind an account"});
  }

  std::optional<Identifier> identifier;
  if (body.string("to") != nullptr) {
    // Read as the start read it, on the policy's channel.
    auto parsed = parse_destination(registry == &s.email_registry ? "email" : "sms",
                                    *body.string("to"), body.string("region"));
    if (!parsed) return status_reply(parsed.status());
    identifier.emplace(std::move(parsed).value());
  } else if (body.string("region") != nullptr) {
    return status_reply({ErrorCode::kInvalidArgument, "region applies with to only"});
  } else if (s.ring.versions().size() > 1) {
    return status_reply({ErrorCode::kIdentifierRequired,
                         "several key versions are active: give to as well, so that bindings under "
                         "every version count"});
  }

  const auto refused = [&](const Status& status) {
    s.metrics.count_binding(status.code());
    return status_reply(status);
  };
  if (Status pre = registry->preflight(account, s.verifier, challenge, *purpose); !pre) {
    return refused(pre);
  }
  RequestContext context;
  context.client_key = scope.client_key;
  auto result = s.verifier.check(challenge, code, *purpose, context);
  if (!result) return status_reply(result.status());
  s.metrics.count_check(result->outcome);
  if (result->outcome != CheckOutcome::kVerified) {
    s.metrics.count_binding_not_verified();
    HttpReply reply = api_error_reply({422, "invalid_or_expired_code",
                                       "the code is invalid or expired: start a new verification"});
    reply.reason = std::string(check_outcome_name(result->outcome));
    return reply;
  }
  const Channel channel = result->verified->channel();
  // A `to` that is not the identifier the code verified is refused here, after the check: the
  // code is then spent. Comparing before the check would answer, for free and without limit,
  // whether a challenge was started for a given number, and numbers are enumerable.
  const Status linked = identifier
                            ? registry->link(account, std::move(*result->verified), *identifier)
                            : registry->link(account, std::move(*result->verified));
  if (!linked) {
    return refused(linked);
  }
  s.metrics.count_binding(ErrorCode::kOk);
  return json_reply(201, {{"account_id", account},
                          {"status", "bound"},
                          {"channel", api_channel_name(channel)},
                          {"policy", registry->policy().name}});
}

HttpReply demo_code(const RequestScope& scope) {
  const ApiServices& s = scope.services;
  if (auto id = ChallengeId::parse(scope.path_id); !id) return status_reply(id.status());
  auto live = s.verifier.live_challenge(scope.path_id);
  if (!live) return status_reply(live.status());
  if (*live) {
    const bool real =
        (*live)->channel == Channel::kEmail ? s.demo.email_has_provider : s.demo.sms_has_provider;
    if (real) {
      return api_error_reply({410, "delivered_by_provider",
                              "this channel has a real provider: the code was sent, not kept"});
    }
  }
  std::optional<SecretText> code =
      s.demo.codes != nullptr && *live ? s.demo.codes->code_for(scope.path_id) : std::nullopt;
  if (!code) return api_error_reply({404, "not_found", "no code is held for this verification"});
  return json_reply(200, {{"code", code->reveal()}});
}

}  // namespace veribind::serve
