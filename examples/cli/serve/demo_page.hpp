// The signup page of `veribind serve --demo`: one HTML page, its stylesheet and its script,
// compiled into the binary so that the demo needs no files beside it and loads nothing from
// elsewhere. The page drives the demo API (/demo/v1/verifications, /demo/v1/accounts/{id}/bindings)
// and shows, in a panel marked as demo-only, the code that GET /demo/codes/{id} returns when no
// real provider is configured.
//
// The script and the stylesheet are separate files and the markup has no inline handler or style
// attribute, so that the page runs under kDemoContentSecurityPolicy unchanged.
#pragma once

#include <optional>
#include <string_view>

namespace veribind::serve {

// One embedded file. Both views point into static storage: they stay valid for the whole run.
struct DemoAsset {
  std::string_view content_type;  // the Content-Type to send, with its charset
  std::string_view body;
};

// The asset served at `path` ("/", "/demo.css", "/demo.js"; the path only, without a query), or
// nullopt for any other path (the caller answers 404).
[[nodiscard]] std::optional<DemoAsset> demo_asset(std::string_view path) noexcept;

// The Content-Security-Policy to send with every demo asset: everything from the page's own
// origin, nothing inline, no framing, no plugins, forms posted only back to the origin. Images
// may also be data: URLs, for the page's empty icon (which spares the browser a /favicon.ico
// request that the server would answer 404).
inline constexpr std::string_view kDemoContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'";

}  // namespace veribind::serve
