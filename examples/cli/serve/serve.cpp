// `veribind serve`: the configuration, the stores, the outbox and the API behind the HTTP server.
//
// Order, as every command: everything that can be refused from the configuration alone is refused
// first (listen address, limits, TLS files named, proxies, delivery), then the key, then the
// store; only then does anything listen. SIGTERM and SIGINT are blocked in every thread before the
// first thread starts (the outbox's workers, the server's pool), and one thread waits for them:
// a signal then drains the server, gives the outbox what is left of the drain time, and closes the
// store, and the process exits 0.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "cli.hpp"
#include "serve/api.hpp"
#include "serve/api_keys.hpp"
#include "serve/api_log.hpp"
#include "serve/api_metrics.hpp"
#include "serve/client_address.hpp"
#include "serve/demo_page.hpp"
#include "serve/demo_sender.hpp"
#include "serve/http_server.hpp"
#include "veribind/memory_store.hpp"

namespace veribind::cli {

namespace {

constexpr std::string_view kMemoryStore = "memory:";
constexpr const char* kDefaultApiKeys = "./veribind-api-keys";
constexpr const char* kDefaultContactKeys = "./veribind-contact-keys.db";

// In demo mode with real providers for only some channels: the outbox for those, the demo
// sender (codes kept for the page) for the others.
class ChannelSender final : public Sender {
 public:
  ChannelSender(Sender* sms, Sender* email) : sms_(sms), email_(email) {}
  Status send(const Delivery& delivery) override { return for_channel(delivery).send(delivery); }
  void send_decoy(const Delivery& delivery) noexcept override {
    for_channel(delivery).send_decoy(delivery);
  }

 private:
  Sender& for_channel(const Delivery& delivery) const {
    return delivery.channel == Channel::kEmail ? *email_ : *sms_;
  }
  Sender* sms_;
  Sender* email_;
};

// SIGTERM and SIGINT, blocked in the calling thread and so in every thread it starts. They stay
// blocked until the process exits: a second signal during the drain must not kill the process by
// its default action (exit status 143 or 130, the outbox not shut down) once serve returns.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  [[nodiscard]] const sigset_t& set() const noexcept { return set_; }

 private:
  sigset_t set_{};
};

std::string json_line(const nlohmann::json& object) {
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// --db as open_stores() reads it, or "memory:" for a MemoryStore. The contact key store is
// used if its file exists ([store] contact_keys), so that erase destroys sealed contacts' keys.
Result<Stores> open_server_stores(const CommonOptions& common, serve::ApiLog& log) {
  if (common.db == kMemoryStore) {
    log.line(json_line({{"warning",
                         "store memory: everything is lost when the server stops, and only this "
                         "process sees it (development and benchmarks only)"}}));
    return Stores(std::make_unique<MemoryStore>(), std::unique_ptr<SqliteContactKeyStore>());
  }
  const std::string contact_keys = common.config != nullptr && common.config->contact_keys
                                       ? *common.config->contact_keys
                                       : std::string(kDefaultContactKeys);
  return open_stores(common, OpenMode::kCreate, ContactKeyUse::kIfPresent, contact_keys);
}

}  // namespace

int run_serve(const CommonOptions& common, const ServeOptions& options) {
  // Before any thread exists: every thread started from here on inherits the mask.
  const BlockedSignals signals;
  const Output out(common.json);
  const FileConfig* file = common.config.get();
  const ServerFileSettings server =
      file != nullptr && file->server ? *file->server : ServerFileSettings{};

  auto address = serve::ListenAddress::parse(options.listen.value_or(server.listen));
  if (!address) return out.error(address.status());
  // The demo page shows every code to whoever asks: only a browser on this host may ask. A unix
  // socket or a proxy in front would hand it to whoever reaches them.
  if (options.demo && (address->unix_socket || !address->loopback())) {
    return out.error(ErrorCode::kInvalidArgument,
                     "--demo shows every code to whoever asks: it listens on a loopback IP "
                     "address only (not a unix socket)");
  }
  if (options.demo && !server.trusted_proxies.empty()) {
    return out.error(ErrorCode::kInvalidArgument,
                     "--demo shows every code to whoever asks: it does not run behind proxies "
                     "([server] trusted_proxies must be empty)");
  }
  if (Status s = server.limits.validate(); !s) return out.error(s);
  std::optional<serve::TlsFiles> tls;
  if (!server.tls_cert_file.empty() || !server.tls_key_file.empty()) {
    if (server.tls_cert_file.empty() || server.tls_key_file.empty()) {
      return out.error(ErrorCode::kInvalidConfig,
                       "[server] needs both tls_cert_file and tls_key_file, or neither");
    }
    tls = serve::TlsFiles{server.tls_cert_file, server.tls_key_file};
  }
  auto proxies = serve::TrustedProxies::parse(server.trusted_proxies);
  if (!proxies) return out.error(proxies.status());
  const bool shared_client_key = address->unix_socket && !proxies->trusts_unix_socket();
  const VerifierConfig config = common.verifier();
  if (Status s = config.validate(); !s) return out.error(s);
  const std::string policy_name =
      file != nullptr && file->policy ? *file->policy : std::string("phone-linked");
  if (policy_name != "phone-linked" && policy_name != "email-linked") {
    return out.error(ErrorCode::kInvalidConfig,
                     "[policy] link must be phone-linked or email-linked");
  }

  const SystemClock clock;
  serve::ApiLog log(std::cerr, clock);
  DeliveryCounters counters;
  serve::DeliveryFanOut fan_out(counters, log);
  serve::DemoSender demo_codes(clock);
  std::unique_ptr<CliDelivery> delivery;
  if (file != nullptr && file->delivery) {
    auto opened = open_delivery(*file, clock, &fan_out);
    if (!opened) return out.error(opened.status());
    delivery = std::move(opened).value();
  } else if (!options.demo) {
    return out.error(ErrorCode::kInvalidConfig, "serve needs [delivery] providers, or --demo");
  }
  const bool sms_real = delivery != nullptr && delivery->has_sms;
  const bool email_real = delivery != nullptr && delivery->has_email;
  Sender* outbox = delivery != nullptr ? static_cast<Sender*>(delivery->outbox.get()) : nullptr;
  // Without --demo a channel without a provider is refused by the API before the verifier runs
  // (ServedChannels); the outbox never sees it.
  ChannelSender routed(options.demo && !sms_real ? &demo_codes : outbox,
                       options.demo && !email_real ? &demo_codes : outbox);

  auto ring = load_key(common.key_file);
  if (!ring) return out.error(ring.status());
  auto stores = open_server_stores(common, log);
  if (!stores) return out.error(stores.status());
  auto verifier = Verifier::create(config, *ring, stores->verification(), routed, clock);
  if (!verifier) return out.error(verifier.status());
  auto phone = stores->registry(LinkPolicy::phone_linked(), *ring, clock);
  if (!phone) return out.error(phone.status());
  auto email = stores->registry(LinkPolicy::email_linked(), *ring, clock);
  if (!email) return out.error(email.status());

  // The API keys. In demo mode a missing file is fine: the /v1 routes then answer 401.
  const std::string keys_path = options.api_keys          ? *options.api_keys
                                : server.api_keys.empty() ? std::string(kDefaultApiKeys)
                                                          : server.api_keys;
  std::unique_ptr<serve::ApiKeys> keys;
  if (std::error_code ec; !options.demo || std::filesystem::exists(keys_path, ec)) {
    auto opened = serve::ApiKeys::open(keys_path, *ring);
    if (opened) {
      keys = std::move(opened).value();
    } else if (options.demo && opened.code() == ErrorCode::kInvalidConfig) {
      // A file without a live key: the demo runs, and the /v1 routes answer 401.
      log.line(json_line({{"warning", opened.status().message()}}));
    } else {
      return out.error(opened.status());
    }
  }
  serve::Authenticator authenticate;
  if (keys != nullptr) {
    authenticate = [&keys](std::string_view header) { return keys->authenticate(header); };
  }

  serve::ApiMetrics metrics;
  metrics.set_delivery_counters(&counters);
  serve::DemoSettings demo;
  if (options.demo) {
    demo.enabled = true;
    demo.codes = &demo_codes;
    demo.sms_has_provider = sms_real;
    demo.email_has_provider = email_real;
    demo.page = [](std::string_view path) -> std::optional<serve::DemoPageAsset> {
      const auto asset = serve::demo_asset(path);
      if (!asset) return std::nullopt;
      return serve::DemoPageAsset{std::string(asset->content_type), std::string(asset->body)};
    };
    demo.content_security_policy = std::string(serve::kDemoContentSecurityPolicy);
  }
  const serve::Api api(serve::ApiServices{
      .verifier = *verifier,
      .phone_registry = *phone,
      .email_registry = *email,
      .stores = *stores,
      .ring = *ring,
      .clock = clock,
      .metrics = metrics,
      .authenticate = std::move(authenticate),
      .default_policy = policy_name,
      .trusted_proxies = std::move(proxies).value(),
      .demo = std::move(demo),
      .channels = {.sms = sms_real || options.demo, .email = email_real || options.demo}});

  auto http = serve::HttpServer::create(*address, server.limits, tls, api.handler(),
                                        serve::completion_hook(metrics, log));
  if (!http) return out.error(http.status());
  serve::HttpServer& listening = **http;
  metrics.set_open_connections([&listening] { return listening.open_connections(); });
  if (!address->loopback() && !listening.tls()) {
    log.line(json_line({{"warning",
                         "listening beyond loopback without TLS: API keys and codes cross the "
                         "network in the clear unless a proxy in front terminates TLS"}}));
  }
  if (shared_client_key) {
    log.line(json_line({{"warning",
                         "listening on a unix socket without \"unix\" in [server] "
                         "trusted_proxies: every client shares one client key, so one client "
                         "can spend the per-client limits of all"}}));
  }
  log.line(json_line({{"listening", listening.bound_address()},
                      {"tls", listening.tls()},
                      {"demo", options.demo}}));

  // One thread waits for the signal; run() serves on the pool until stop() has finished.
  std::atomic<bool> stopping{false};
  std::chrono::steady_clock::time_point stop_at{};
  int signal_number = 0;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals.set(), &sig);
    if (!stopping.exchange(true)) {
      signal_number = sig;
      stop_at = std::chrono::steady_clock::now();
      listening.stop(server.drain);
    }
  });
  listening.run();
  if (!stopping.exchange(true)) {
    // run() returned without a signal: wake the waiter with one of its own.
    stop_at = std::chrono::steady_clock::now();
    pthread_kill(waiter.native_handle(), SIGTERM);
  }
  waiter.join();

  // What is left of the drain time goes to the messages still queued.
  const auto spent = std::chrono::steady_clock::now() - stop_at;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(server.drain - spent);
  std::size_t abandoned = 0;
  if (delivery != nullptr) {
    abandoned = delivery->outbox->shutdown(std::max(left, std::chrono::milliseconds(0)));
  }
  log.line(json_line({{"stopped", signal_number == SIGINT    ? "SIGINT"
                                  : signal_number == SIGTERM ? "SIGTERM"
                                                             : "server"},
                      {"messages_abandoned", abandoned}}));
  http->reset();
  stores->close();
  return kExitOk;
}

}  // namespace veribind::cli
