// Real delivery for the CLI: the outbox and its providers built from [delivery] and [templates],
// what start waits for before it exits, and send-test.
#include <iostream>
#include <mutex>
#include <utility>

#include "cli.hpp"
#include "veribind/outbox.hpp"
#include "veribind/sms_senders.hpp"
#include "veribind/smtp_sender.hpp"

namespace veribind::cli {
namespace {

// What every provider's settings have: its name, the CA file and the three timeouts.
template <typename Config>
Config with_common(const ProviderSettings& p) {
  Config c;
  c.name = p.name;
  c.ca_file = p.ca_file;
  c.connect_timeout = p.connect_timeout;
  c.response_timeout = p.response_timeout;
  c.total_timeout = p.total_timeout;
  return c;
}

// A provider's settings as the library takes them; errors name the table's line.
Result<std::unique_ptr<DeliveryProvider>> make_provider(const FileConfig& file,
                                                        const ProviderSettings& p) {
  const auto at = [&](const Status& s) {
    return Status(s.code(), file.path + ":" + std::to_string(p.line) + ": " + s.message());
  };
  if (p.type == "smtp") {
    auto c = with_common<SmtpConfig>(p);
    c.url = p.url;
    c.allow_plaintext = p.allow_plaintext;
    c.from = p.from;
    c.username = p.username;
    c.password_file = p.password_file;
    auto sender = SmtpSender::create(std::move(c));
    if (!sender) return at(sender.status());
    return std::unique_ptr<DeliveryProvider>(std::move(sender).value());
  }
  if (p.type == "webhook") {
    auto c = with_common<WebhookConfig>(p);
    c.url = p.url;
    c.secret_file = p.secret_file;
    auto sender = WebhookSender::create(std::move(c));
    if (!sender) return at(sender.status());
    return std::unique_ptr<DeliveryProvider>(std::move(sender).value());
  }
  auto c = with_common<TwilioConfig>(p);
  c.base_url = p.url;
  c.account_sid = p.account_sid;
  c.auth_token_file = p.auth_token_file;
  c.from = p.from;
  c.messaging_service_sid = p.messaging_service_sid;
  auto sender = TwilioSender::create(std::move(c));
  if (!sender) return at(sender.status());
  return std::unique_ptr<DeliveryProvider>(std::move(sender).value());
}

Result<Templates> make_templates(const FileConfig& file, int code_length) {
  const TemplateFileSettings& t = file.templates;
  TemplateSettings settings;
  settings.app_name = t.app_name;
  settings.domain = t.domain;
  settings.android_app_hash = t.android_app_hash;
  settings.code_in_subject = t.code_in_subject;
  auto templates = Templates::builtin(std::move(settings));
  if (!templates)
    return Status(templates.code(), file.path + ": [templates] " + templates.status().message());
  if (!t.dir.empty()) {
    if (Status s = templates->load_directory(t.dir); !s) return s;
  }
  // Every segment of an SMS is paid for: a template that needs more than the file allows is a
  // configuration error, found before anything is sent.
  for (const TemplateProblem& problem : templates->check(code_length)) {
    if (problem.encoding.segments <= static_cast<std::size_t>(t.max_sms_segments)) continue;
    return Status(ErrorCode::kConfigFileInvalid,
                  file.path + ": [templates] the " + std::string(purpose_name(problem.purpose)) +
                      " SMS in locale \"" + problem.locale + "\" needs " +
                      std::to_string(problem.encoding.segments) + " segments (" +
                      std::string(sms_alphabet_name(problem.encoding.alphabet)) +
                      "), more than max_sms_segments = " + std::to_string(t.max_sms_segments));
  }
  return templates;
}

nlohmann::json attempts_json(const std::vector<DeliveryLog::Entry>& entries) {
  nlohmann::json attempts = nlohmann::json::array();
  for (const DeliveryLog::Entry& e : entries) {
    if (e.state == DeliveryState::kQueued) continue;
    nlohmann::json a = {{"state", delivery_state_name(e.state)}, {"attempt", e.attempt}};
    if (!e.provider.empty()) a["provider"] = e.provider;
    if (e.state == DeliveryState::kFailed) {
      a["class"] = attempt_class_name(e.attempt_class);
      a["reply_code"] = e.reply_code;
      a["detail"] = e.detail;
    }
    if (e.state == DeliveryState::kRetrying) a["retry_in_ms"] = e.retry_in.count();
    if (e.state == DeliveryState::kAbandoned) a["reason"] = abandon_reason_name(e.reason);
    attempts.push_back(std::move(a));
  }
  return attempts;
}

void print_attempts(const std::vector<DeliveryLog::Entry>& entries) {
  for (const DeliveryLog::Entry& e : entries) {
    switch (e.state) {
      case DeliveryState::kQueued: break;
      case DeliveryState::kSent:
        std::cout << "attempt " << e.attempt << "   sent via " << e.provider << '\n';
        break;
      case DeliveryState::kFailed:
        std::cout << "attempt " << e.attempt << "   failed via " << e.provider << ": "
                  << attempt_class_name(e.attempt_class) << ", " << e.detail << '\n';
        break;
      case DeliveryState::kRetrying:
        std::cout << "            retrying in " << e.retry_in.count() << " ms\n";
        break;
      case DeliveryState::kAbandoned:
        std::cout << "            abandoned (" << abandon_reason_name(e.reason) << ")\n";
        break;
    }
  }
}

}  // namespace

void DeliveryLog::on_delivery_event(const DeliveryEvent& event) noexcept {
  try {
    const std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back({std::string(event.challenge_id), std::string(event.provider), event.state,
                        event.attempt, event.attempt_class, event.reply_code,
                        std::string(event.detail), event.reason, event.retry_in});
  } catch (...) {  // out of memory: the report misses a line, the delivery goes on
  }
}

std::vector<DeliveryLog::Entry> DeliveryLog::entries_for(std::string_view challenge_id) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Entry> out;
  for (const Entry& e : entries_) {
    if (e.challenge_id == challenge_id) out.push_back(e);
  }
  return out;
}

Result<std::unique_ptr<CliDelivery>> open_delivery(const FileConfig& file, const Clock& clock,
                                                   DeliveryObserver* observer) {
  const DeliverySettings& d = *file.delivery;
  auto templates = make_templates(file, file.verifier.code_length);
  if (!templates) return templates.status();
  std::vector<std::unique_ptr<DeliveryProvider>> providers;
  for (const auto* list : {&d.email, &d.sms}) {
    for (const ProviderSettings& p : *list) {
      auto provider = make_provider(file, p);
      if (!provider) return provider.status();
      providers.push_back(std::move(provider).value());
    }
  }
  if (providers.empty()) {
    return Status(ErrorCode::kConfigFileInvalid,
                  file.path + ": [delivery] has neither [delivery.email] nor [delivery.sms]");
  }
  OutboxConfig config;
  config.workers = d.workers;
  config.capacity = d.queue_capacity;
  config.initial_backoff = d.initial_backoff;
  config.max_backoff = d.max_backoff;
  config.max_attempts = d.max_attempts;
  auto delivery = std::make_unique<CliDelivery>();
  delivery->wait = d.wait;
  delivery->has_email = !d.email.empty();
  delivery->has_sms = !d.sms.empty();
  auto outbox = Outbox::create(config, std::move(templates).value(), std::move(providers), clock,
                               observer != nullptr ? observer : &delivery->log);
  if (!outbox)
    return Status(outbox.code(), file.path + ": [delivery] " + outbox.status().message());
  delivery->outbox = std::move(outbox).value();
  return delivery;
}

Status CliDelivery::serves(const FileConfig& file, Channel channel) const {
  if (channel == Channel::kEmail ? has_email : has_sms) return Status::ok();
  return {ErrorCode::kInvalidConfig, file.path + " has no [delivery." +
                                         (channel == Channel::kEmail ? "email" : "sms") +
                                         "]: nothing could carry the code"};
}

Result<DeliveryState> CliDelivery::finish(std::string_view challenge_id) {
  auto state = outbox->wait(challenge_id, wait);
  if (!state) {
    return Status(ErrorCode::kDeliveryFailed,
                  "the message was not sent within " + std::to_string(wait.count()) + " s");
  }
  return *state;
}

Status CliDelivery::outcome_status(std::string_view challenge_id) const {
  const std::vector<DeliveryLog::Entry> entries = log.entries_for(challenge_id);
  for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
    if (e->state == DeliveryState::kSent) return Status::ok();
    if (e->state != DeliveryState::kAbandoned) continue;
    const std::string why = std::string(abandon_reason_name(e->reason));
    if (e->reason == AbandonReason::kPermanent) {
      return {ErrorCode::kDeliveryRefused,
              "the provider " + e->provider + " refused the message (" + e->detail + ")"};
    }
    return {ErrorCode::kDeliveryFailed, "the message was abandoned (" + why + ") after " +
                                            std::to_string(e->attempt) + " attempt" +
                                            (e->attempt == 1 ? "" : "s")};
  }
  return {ErrorCode::kDeliveryFailed, "the message was not sent"};
}

nlohmann::json CliDelivery::report_json(std::string_view challenge_id) const {
  return attempts_json(log.entries_for(challenge_id));
}

void CliDelivery::print_report(std::string_view challenge_id) const {
  print_attempts(log.entries_for(challenge_id));
}

int run_send_test(const CommonOptions& common, const SendTestOptions& options) {
  const Output out(common.json);
  auto identifier = parse_identifier(options.identifier);
  if (!identifier) return out.error(identifier.status());
  RequestContext context;
  context.locale = options.locale;
  if (common.config == nullptr || !common.config->delivery) {
    return out.error(ErrorCode::kInvalidConfig,
                     "send-test needs a [delivery] section (--config FILE or ./veribind.toml)");
  }
  const FileConfig& file = *common.config;
  const SystemClock clock;
  auto delivery = open_delivery(file, clock);
  if (!delivery) return out.error(delivery.status());
  if (Status s = (*delivery)->serves(file, identifier->channel()); !s) return out.error(s);

  // A code of the configured length that checks nothing (it is never stored), so that the message
  // is exactly what a real one looks like: uniform digits from the hex digits of random challenge
  // ids (libsodium's CSPRNG), those above 9 rejected.
  std::string code;
  while (code.size() < static_cast<std::size_t>(file.verifier.code_length)) {
    for (const char c : ChallengeId::random().to_string()) {
      if (c >= '0' && c <= '9' &&
          code.size() < static_cast<std::size_t>(file.verifier.code_length)) {
        code.push_back(c);
      }
    }
  }
  const std::string id = ChallengeId::random().to_string();
  const Delivery message{
      identifier->channel(),
      identifier->canonical(),
      identifier->masked(),
      code,
      Purpose::kSignup,
      clock.now() + std::chrono::duration_cast<std::chrono::milliseconds>(file.verifier.code_ttl),
      id,
      context.locale};
  if (Status s = (*delivery)->outbox->send(message); !s) return out.error(s);
  auto state = (*delivery)->finish(id);
  const Status outcome = state ? (*delivery)->outcome_status(id) : state.status();
  const nlohmann::json attempts = (*delivery)->report_json(id);
  if (out.json()) {
    nlohmann::json object = {{"to", identifier->masked()},
                             {"channel", channel_name(identifier->channel())},
                             {"attempts", attempts}};
    if (outcome) {
      object["sent"] = true;
      out.emit(object);
      return kExitOk;
    }
    object["error"] = {{"code", error_code_name(outcome.code())}, {"message", outcome.message()}};
    out.emit(object);
    return exit_code_for(outcome.code());
  }
  std::cout << "test message to " << identifier->masked() << " ("
            << channel_name(identifier->channel()) << ")\n";
  (*delivery)->print_report(id);
  if (!outcome) return out.error(outcome);
  std::cout << "delivered; the code in it checks nothing\n";
  return kExitOk;
}

}  // namespace veribind::cli
