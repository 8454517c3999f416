// The listener and the pool of the HTTP transport; the connections are in http_session.hpp.
//
// The pool is one io_context per thread, each run by its thread alone, and each connection lives
// on one of them from its accept to its close. A completion then runs on the thread that waited
// for it: one io_context shared by the pool made most completions wake another thread (the
// scheduler's handoff), which cost a sequential request more than the rest of the server did.
#include "serve/http_server.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cerrno>
#include <mutex>
#include <thread>
#include <vector>

#include "serve/http_session.hpp"
#include "serve/http_wire.hpp"

namespace veribind::serve {

namespace {

namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;
using unix_socket = net::local::stream_protocol;

// A failed accept (out of file descriptors, say) is retried after this, not in a busy loop.
constexpr std::chrono::milliseconds kAcceptBackoff{50};
// Connections over max_connections being told 503 at once; past this they are closed unanswered.
constexpr std::size_t kMaxRefusing = 64;
constexpr off_t kMaxKeyFile = 1024 * 1024;

// TLS 1.2's forward-secret AEAD suites (TLS 1.3's are OpenSSL's defaults).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string peer_of(const tcp::socket& socket) {
  error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "-";
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}
std::string peer_of(const unix_socket::socket&) { return "unix"; }

std::string describe(const tcp::endpoint& endpoint) {
  if (endpoint.address().is_v6()) {
    return "[" + endpoint.address().to_string() + "]:" + std::to_string(endpoint.port());
  }
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// Reads the private key through one descriptor, so that the mode checked is the file's that is
// read; the copy in memory is wiped once OpenSSL holds the key.
Status load_private_key(net::ssl::context& context, const std::string& path) {
  const auto unavailable = [&](std::string_view why) {
    return Status(ErrorCode::kUnavailable, "TLS key file " + path + " " + std::string(why));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return unavailable("cannot be opened");
  struct stat st {};
  std::string pem;
  Status status;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = unavailable("is not a regular file");
  } else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    status = Status(ErrorCode::kKeyFileInsecure, "TLS key file " + path +
                                                     " is accessible by group or others; run "
                                                     "chmod 600 on it");
  } else if (st.st_size > kMaxKeyFile) {
    status = unavailable("is larger than 1 MiB");
  } else {
    pem.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < pem.size()) {
      const ssize_t n = ::read(fd, pem.data() + got, pem.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    error_code ec;
    if (got != pem.size()) {
      status = unavailable("cannot be read");
    } else if (context.use_private_key(net::buffer(pem), net::ssl::context::pem, ec); ec) {
      status = unavailable("does not hold a PEM private key");
    }
    OPENSSL_cleanse(pem.data(), pem.size());
  }
  ::close(fd);
  return status;
}

}  // namespace

class HttpServer::Impl final : public wire::ServerState {
 public:
  Impl(const ServerLimits& limits, Handler handler, CompletionHook on_completed)
      : ServerState(limits, std::move(handler), std::move(on_completed)),
        contexts_(make_contexts(limits.threads)),
        control_(*contexts_.front()),
        drain_timer_(control_),
        backoff_timer_(control_) {
    // A context with no connection yet has no work; it must not return before one arrives.
    for (auto& context : contexts_) keep_running_.emplace_back(context->get_executor());
  }

  ~Impl() override {
    destroying_.store(true);
    stop(std::chrono::milliseconds(0));
    if (!socket_path_.empty()) {
      // Removed only if it is still the socket this server made.
      struct stat st {};
      if (::lstat(socket_path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
          st.st_ino == socket_ino_) {
        ::unlink(socket_path_.c_str());
      }
    }
  }

  Status load_tls(const TlsFiles& files) {
    tls_.emplace(net::ssl::context::tls_server);
    tls_->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                      net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                      net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression |
                      net::ssl::context::single_dh_use);
    SSL_CTX* native = tls_->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_cipher_list(native, kTls12Ciphers);
    if (auto status = load_private_key(*tls_, files.key_file); !status) return status;
    error_code ec;
    tls_->use_certificate_chain_file(files.cert_file, ec);
    if (ec) {
      return Status(ErrorCode::kUnavailable,
                    "TLS certificate file " + files.cert_file + " cannot be read as a PEM chain");
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      return Status(ErrorCode::kUnavailable, "the TLS certificate does not match the key file");
    }
    return Status::ok();
  }

  Status listen(const ListenAddress& address) {
    return address.unix_socket ? listen_unix(address.host) : listen_tcp(address);
  }

  void run() {
    if (ran_.exchange(true)) return;
    {
      std::lock_guard lock(acceptor_mutex_);
      if (tcp_) accept(*tcp_);
      if (unix_) accept(*unix_);
    }
    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
      pool.emplace_back([this, i] { run_pool_thread(*contexts_[i]); });
    }
    run_pool_thread(control_);
    for (auto& thread : pool) thread.join();
  }

  void stop(std::chrono::milliseconds drain) {
    if (stopping_.exchange(true)) return;
    {
      std::lock_guard lock(acceptor_mutex_);
      error_code ignored;
      if (tcp_) tcp_->close(ignored);
      if (unix_) unix_->close(ignored);
    }
    if (destroying_.load()) return;
    net::post(control_, [this, drain] {
      backoff_timer_.cancel();
      drain_timer_.expires_after(drain);
      drain_timer_.async_wait([this](error_code ec) {
        if (!ec) for_each([](wire::Connection& connection) { connection.close(); });
        // Drained or out of time: each thread returns once its connections' last work is done.
        keep_running_.clear();
      });
      for_each([](wire::Connection& connection) { connection.close_unless_answering(); });
      if (no_connections()) drain_timer_.cancel();
    });
  }

  [[nodiscard]] bool tls() const noexcept { return tls_.has_value(); }
  std::string bound;

 protected:
  void drained() override {
    if (destroying_.load()) return;
    net::post(control_, [this] { drain_timer_.cancel(); });
  }

 private:
  // Concurrency hint 1: each context is run by one thread, but stop() and the listener post
  // into them from others, so the scheduler keeps its locks.
  static std::vector<std::unique_ptr<net::io_context>> make_contexts(int threads) {
    std::vector<std::unique_ptr<net::io_context>> contexts;
    for (int i = 0; i < threads; ++i) contexts.push_back(std::make_unique<net::io_context>(1));
    return contexts;
  }

  // Round robin over the pool; called with acceptor_mutex_ held.
  net::io_context& next_context() {
    net::io_context& context = *contexts_[next_ % contexts_.size()];
    ++next_;
    return context;
  }

  void run_pool_thread(net::io_context& context) {
    for (;;) {
      try {
        context.run();
        return;
      } catch (...) {
        // A handler's exception is caught where it runs; this only keeps the thread in the pool.
      }
    }
  }

  // Called with acceptor_mutex_ held: stop() closes the acceptors from another thread.
  template <typename Acceptor>
  void accept(Acceptor& acceptor) {
    if (stopping()) return;
    acceptor.async_accept(
        next_context(),
        [this, &acceptor](error_code ec, typename Acceptor::protocol_type::socket socket) {
          if (ec == net::error::operation_aborted || stopping()) return;
          if (ec) {
            backoff_timer_.expires_after(kAcceptBackoff);
            backoff_timer_.async_wait([this, &acceptor](error_code wait_error) {
              if (wait_error) return;
              std::lock_guard lock(acceptor_mutex_);
              accept(acceptor);
            });
            return;
          }
          serve(std::move(socket));
          std::lock_guard lock(acceptor_mutex_);
          accept(acceptor);
        });
  }

  template <typename Socket>
  void serve(Socket socket) {
    bool refuse = false;
    if (open.fetch_add(1, std::memory_order_relaxed) >= limits().max_connections) {
      open.fetch_sub(1, std::memory_order_relaxed);
      if (refusing.fetch_add(1, std::memory_order_relaxed) >= kMaxRefusing) {
        refusing.fetch_sub(1, std::memory_order_relaxed);
        return;  // closed by the socket's destructor
      }
      refuse = true;
    }
    if constexpr (std::is_same_v<typename Socket::protocol_type, tcp>) {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
    }
    std::string peer = peer_of(socket);
    if (tls_) {
      std::make_shared<wire::Session<boost::beast::ssl_stream<Socket>>>(
          *this, std::move(peer), refuse, std::move(socket), *tls_)
          ->start();
    } else {
      std::make_shared<wire::Session<Socket>>(*this, std::move(peer), refuse, std::move(socket))
          ->start();
    }
  }

  Status listen_tcp(const ListenAddress& address) {
    const std::string text = address.host.find(':') != std::string::npos
                                 ? "[" + address.host + "]:" + std::to_string(address.port)
                                 : address.host + ":" + std::to_string(address.port);
    error_code ec;
    const auto ip = net::ip::make_address(address.host, ec);
    if (ec) return Status(ErrorCode::kInvalidArgument, "listen address is not an IP address");
    const tcp::endpoint endpoint(ip, address.port);
    tcp_.emplace(control_);
    tcp_->open(endpoint.protocol(), ec);
    if (!ec) tcp_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) tcp_->bind(endpoint, ec);
    if (!ec) tcp_->listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return Status(ErrorCode::kUnavailable, "cannot listen on " + text + ": " + ec.message());
    bound = describe(tcp_->local_endpoint(ec));
    return Status::ok();
  }

  Status listen_unix(const std::string& path) {
    const auto cannot = [&](std::string_view why) {
      return Status(ErrorCode::kUnavailable,
                    "cannot listen on unix:" + path + ": " + std::string(why));
    };
    const unix_socket::endpoint endpoint(path);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return cannot("the path exists and is not a socket");
      // A socket file: in use if something answers on it, stale (a crashed server's) if not.
      unix_socket::socket probe(control_);
      error_code ec;
      probe.open(unix_socket(), ec);
      if (!ec) probe.non_blocking(true, ec);
      if (!ec) probe.connect(endpoint, ec);
      if (!ec || ec == net::error::would_block || ec == net::error::try_again) {
        return cannot("another server is listening on it");
      }
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return cannot("the stale socket file cannot be removed");
      }
    } else if (errno != ENOENT) {
      return cannot("the path cannot be examined");
    }
    error_code ec;
    unix_.emplace(control_);
    unix_->open(unix_socket(), ec);
    if (!ec) unix_->bind(endpoint, ec);
    if (ec) return cannot(ec.message());
    // Nobody can connect before listen(), so the mode is set before the socket is reachable.
    if (::lstat(path.c_str(), &st) != 0 || ::chmod(path.c_str(), 0660) != 0) {
      return cannot("cannot set the socket file's mode");
    }
    socket_path_ = path;
    socket_dev_ = st.st_dev;
    socket_ino_ = st.st_ino;
    unix_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return cannot(ec.message());
    bound = "unix:" + path;
    return Status::ok();
  }

  std::optional<net::ssl::context> tls_;
  std::atomic<bool> ran_{false};
  std::atomic<bool> destroying_{false};
  std::string socket_path_;
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
  // Destroyed after the members below: their destructors destroy the connections still open,
  // which use the state above.
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  // The first context, run by the thread that calls run(): the acceptors and the timers below
  // live on it, so they need no strand.
  net::io_context& control_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running_;
  std::size_t next_ = 0;
  net::steady_timer drain_timer_;
  net::steady_timer backoff_timer_;
  std::mutex acceptor_mutex_;
  std::optional<tcp::acceptor> tcp_;
  std::optional<unix_socket::acceptor> unix_;
};

Result<std::unique_ptr<HttpServer>> HttpServer::create(const ListenAddress& address,
                                                       const ServerLimits& limits,
                                                       const std::optional<TlsFiles>& tls,
                                                       Handler handler,
                                                       CompletionHook on_completed) {
  if (auto status = limits.validate(); !status) return status;
  if (!handler) return Status(ErrorCode::kInvalidArgument, "the HTTP server needs a handler");
  auto impl = std::make_unique<Impl>(limits, std::move(handler), std::move(on_completed));
  if (tls) {
    if (auto status = impl->load_tls(*tls); !status) return status;
  }
  if (auto status = impl->listen(address); !status) return status;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
std::string HttpServer::bound_address() const { return impl_->bound; }
bool HttpServer::tls() const noexcept { return impl_->tls(); }
void HttpServer::run() { impl_->run(); }
void HttpServer::stop(std::chrono::milliseconds drain) { impl_->stop(drain); }
std::size_t HttpServer::open_connections() const noexcept {
  return impl_->open.load(std::memory_order_relaxed);
}

}  // namespace veribind::serve
