#include "modules/attachments/attachments_module.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <chrono>

#include "core/crypto/ids.hpp"
#include "core/db/database.hpp"
#include "core/files/file_store.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/attachments/attachment_names.hpp"

namespace happy::mod::attachments {

namespace asio = boost::asio;
namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

struct state {
    db::database* db = nullptr;
    files::file_store* files = nullptr;
    const server_settings* settings = nullptr;
    upload_rate_limiter rate;
};

response file_too_large() {
    return response::error(413, "File too large (max 10MB)");
}

/// upstream attachmentRoutes.ts PRESIGNED_TTL_SECONDS: presigned uploads and downloads (S3 mode) last 15 min.
constexpr std::chrono::seconds presigned_ttl{15 * 60};

/// upstream: `db.session.findFirst({where: {id: sessionId, accountId: userId}})`.
asio::awaitable<bool> session_owned(db::database& db, const std::string& account, const std::string& sid) {
    bool owned = false;
    co_await db.read([&](db::tx& t) {
        owned = t.exists("SELECT 1 FROM session WHERE id = ? AND account_id = ?", {sid, account});
    });
    co_return owned;
}

std::string base_of(const state& st, const http::request& req) {
    return base_url(st.settings->public_url, req, st.settings->port);
}

/// The storage key named by a PUT or GET /v1/sessions/:sessionId/attachments/:attachmentFile, or the 404 both
/// routes answer first: the session is not the caller's, or the name is refused. upstream's name check is `..` or
/// `/`; the store also refuses `.`, empty names, backslashes and NUL (which upstream would turn into a 500 or a
/// file name no other platform can hold).
struct attachment_target {
    std::string ref;
    std::optional<response> refusal;
};
asio::awaitable<attachment_target> attachment_of(state& st, http::request& req) {
    std::string sid(req.param("sessionId"));
    std::string file(req.param("attachmentFile"));
    if (!co_await session_owned(*st.db, req.account_id, sid)) {
        co_return attachment_target{{}, response::error(404, "Session not found")};
    }
    std::string ref = attachment_ref(sid, file);
    if (attachment_name_rejected(file) || !files::valid_key(ref)) {
        co_return attachment_target{{}, response::error(404, "Invalid attachment file")};
    }
    co_return attachment_target{std::move(ref), std::nullopt};
}

// POST /v1/sessions/:sessionId/attachments/request-upload
asio::awaitable<response> request_upload(state& st, http::request& req) {
    std::string sid(req.param("sessionId"));
    // Counted before the ownership check, as upstream does (failed requests count too).
    if (!st.rate.allow(req.account_id, now_ms())) {
        co_return response::error(429, "Too many upload requests. Try again in a minute.");
    }
    if (!co_await session_owned(*st.db, req.account_id, sid)) {
        co_return response::error(404, "Session not found");
    }
    // The body schema already caps size at 10 MiB, so upstream's `size > MAX_FILE_SIZE` 413 is unreachable.
    // Always .enc: the client's filename never becomes part of the path.
    std::string file = crypto::uuid_v4() + ".enc";
    std::string ref = attachment_ref(sid, file);
    // S3 mode: a presigned POST policy whose content-length-range makes the store itself refuse oversize
    // uploads (upstream's reason for POST over a presigned PUT).
    if (auto form = st.files->presign_post(ref, max_file_size, presigned_ttl)) {
        json::object fields;
        for (auto& [k, v] : form->fields) {
            fields[k] = std::move(v);
        }
        co_return response::json(json::object{
            {"ref", ref}, {"uploadUrl", std::move(form->url)}, {"method", "POST"}, {"formFields", std::move(fields)}});
    }
    std::string url = base_of(st, req) + "/v1/sessions/" + sid + "/attachments/" + file;
    co_return response::json(json::object{{"ref", ref}, {"uploadUrl", url}, {"method", "PUT"}});
}

/// The bytes upstream's handler would write for this body (`request.body as Buffer`): raw octet-stream bytes, or
/// a string parsed from text/plain or JSON. Anything else (no body, a JSON object, number, …) makes upstream throw
/// in `body.length` or `fs.writeFileSync` → nullopt, the generic 500.
std::optional<std::string> upload_bytes(http::request& req) {
    if (req.body.is_null()) {
        std::string media = req.content_type.substr(0, req.content_type.find(';'));
        for (auto& c : media) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (media.find("application/octet-stream") != std::string::npos) {
            return std::move(req.raw_body);
        }
    }
    if (req.body.is_string()) {
        return std::string(req.body.get_string());
    }
    return std::nullopt;
}

// PUT /v1/sessions/:sessionId/attachments/:attachmentFile
asio::awaitable<response> upload(state& st, http::request& req) {
    if (!st.files->serves_directly()) {
        co_return response::error(404, "Direct upload not available in S3 mode");
    }
    auto target = co_await attachment_of(st, req);
    if (target.refusal) {
        co_return std::move(*target.refusal);
    }
    auto bytes = upload_bytes(req);
    if (!bytes) {
        co_return response::internal_error();
    }
    if (bytes->size() > max_file_size) {
        co_return file_too_large();
    }
    try {
        co_await st.files->put(target.ref, std::move(*bytes));
    } catch (const files::too_large&) {
        co_return file_too_large();  // files.local.max_file_size set below upstream's 10 MiB
    }
    co_return response::json(json::object{{"ok", true}});
}

// POST /v1/sessions/:sessionId/attachments/request-download
asio::awaitable<response> request_download(state& st, http::request& req) {
    std::string sid(req.param("sessionId"));
    std::string ref(req.body.at("ref").as_string());
    if (!co_await session_owned(*st.db, req.account_id, sid)) {
        co_return response::error(404, "Session not found");
    }
    // The ref must live strictly under this session's prefix, or a caller could read another session's blobs
    // through its own.
    std::string prefix = "sessions/" + sid + "/attachments/";
    if (!ref.starts_with(prefix)) {
        co_return response::error(400, "Ref does not belong to this session");
    }
    std::string file = ref.substr(prefix.size());
    if (file.empty() || attachment_name_rejected(file)) {
        co_return response::error(400, "Invalid attachment ref");
    }
    // Existence is not checked (upstream neither).
    if (auto presigned = st.files->presign_get(ref, presigned_ttl)) {
        co_return response::json(json::object{{"downloadUrl", std::move(*presigned)}});
    }
    std::string url = base_of(st, req) + "/v1/sessions/" + sid + "/attachments/" + file;
    co_return response::json(json::object{{"downloadUrl", url}});
}

// GET /v1/sessions/:sessionId/attachments/:attachmentFile
asio::awaitable<response> download(state& st, http::request& req) {
    auto target = co_await attachment_of(st, req);
    if (target.refusal) {
        co_return std::move(*target.refusal);
    }
    // S3 mode: a redirect to a presigned GET (upstream reply.redirect, 302); the bytes never pass through here.
    if (auto presigned = st.files->presign_get(target.ref, presigned_ttl)) {
        co_return response::redirect(std::move(*presigned));
    }
    auto bytes = co_await st.files->get(target.ref);
    if (!bytes) {
        co_return response::error(404, "Attachment not found");
    }
    response r;
    r.content_type = "application/octet-stream";
    r.body = std::move(*bytes);
    co_return r;
}

// GET /files/* (upstream api.ts, local storage only): public, no authentication.
asio::awaitable<response> public_file(state& st, http::request& req) {
    auto key = files_wildcard_key(req.param("*"));
    if (!key) {
        co_return response::text("Forbidden", 403, "text/plain");
    }
    std::optional<std::string> bytes;
    if (files::valid_key(*key)) {
        bytes = co_await st.files->get(*key);  // a directory throws not_a_file: the generic 500, as upstream
    }
    if (!bytes) {
        co_return response::text("Not found", 404);
    }
    // upstream streams the file with no Content-Type.
    response r;
    r.body = std::move(*bytes);
    co_return r;
}

std::vector<std::string> error_only() {
    return {"error"};
}

}  // namespace

struct attachments_module::impl : state {};

attachments_module::attachments_module() : impl_(std::make_unique<impl>()) {}
attachments_module::~attachments_module() = default;

void attachments_module::setup(module_context& ctx) {
    impl_->db = &ctx.db();
    impl_->files = &ctx.files();
    impl_->settings = &ctx.settings();
    state* st = impl_.get();

    // Response schemas (fastify filters error bodies through them, http-api.md §2.6).
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/sessions/:sessionId/attachments/request-upload",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"filename", v::string()}, {"size", v::number().max(static_cast<double>(max_file_size))}}),
        .response_keys = {{404, error_only()}, {413, error_only()}, {429, error_only()}},
        .fn = [st](http::request& req) { return request_upload(*st, req); },
    });
    ctx.add_route({
        .method = http::verb::put,
        .path = "/v1/sessions/:sessionId/attachments/:attachmentFile",
        .auth = http::auth_mode::bearer,
        .response_keys = {{404, error_only()}, {413, error_only()}},
        .fn = [st](http::request& req) { return upload(*st, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/sessions/:sessionId/attachments/request-download",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"ref", v::string()}}),
        .response_keys = {{400, error_only()}, {404, error_only()}},
        .fn = [st](http::request& req) { return request_download(*st, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/sessions/:sessionId/attachments/:attachmentFile",
        .auth = http::auth_mode::bearer,
        .fn = [st](http::request& req) { return download(*st, req); },
    });
    if (st->files->serves_directly()) {
        ctx.add_route({
            .method = http::verb::get,
            .path = "/files/*",
            .fn = [st](http::request& req) { return public_file(*st, req); },
        });
    }
}

}  // namespace happy::mod::attachments
