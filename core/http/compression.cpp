#include "core/http/compression.hpp"

#include "core/http/types.hpp"
#include "core/util/ascii.hpp"

#include <zlib.h>

#include <cstdlib>
#include <stdexcept>

namespace happy::http {

namespace {

/// negotiator's parseEncoding q-value: "q=" parameter, default 1; an unparsable number counts as 0 here.
double q_value(std::string_view params) {
    while (!params.empty()) {
        auto semi = params.find(';');
        std::string_view p = trim_ows(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            std::string v(trim_ows(p.substr(2)));
            char* end = nullptr;
            double q = std::strtod(v.c_str(), &end);
            return end == v.c_str() ? 0 : q;
        }
    }
    return 1;
}

}  // namespace

std::string_view coding_name(content_coding c) {
    return c == content_coding::gzip ? "gzip" : "deflate";
}

std::optional<content_coding> choose_coding(std::string_view header) {
    struct pref {
        double q = 0;
        int specificity = -1;  // 1: named, 0: "*", -1: not acceptable
        std::size_t order = 0;
    };
    pref best[2];  // gzip, deflate
    std::size_t index = 0;
    while (!header.empty()) {
        auto comma = header.find(',');
        std::string_view item = trim_ows(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        if (item.empty()) {
            continue;
        }
        auto semi = item.find(';');
        std::string_view name = trim_ows(item.substr(0, semi));
        double q = semi == std::string_view::npos ? 1 : q_value(item.substr(semi + 1));
        for (int c = 0; c < 2; ++c) {
            int s = util::iequals(name, c == 0 ? "gzip" : "deflate") ? 1 : name == "*" ? 0 : -1;
            // negotiator keeps, per provided coding, the most specific match, then the highest q.
            if (s < 0 || (best[c].specificity > s) || (best[c].specificity == s && best[c].q >= q)) {
                continue;
            }
            best[c] = {q, s, index};
        }
        ++index;
    }
    std::optional<content_coding> chosen;
    for (int c = 0; c < 2; ++c) {
        if (best[c].specificity < 0 || best[c].q <= 0) {
            continue;
        }
        if (!chosen) {
            chosen = static_cast<content_coding>(c);
            continue;
        }
        const pref& b = best[static_cast<int>(*chosen)];
        // Sorted by q (desc), specificity (desc), position in the header (asc); equal ones keep gzip first.
        if (best[c].q > b.q ||
            (best[c].q == b.q && (best[c].specificity > b.specificity ||
                                  (best[c].specificity == b.specificity && best[c].order < b.order)))) {
            chosen = static_cast<content_coding>(c);
        }
    }
    return chosen;
}

std::string compress(std::string_view data, content_coding c) {
    z_stream zs{};
    int window_bits = c == content_coding::gzip ? 15 + 16 : 15;
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::runtime_error("zlib: deflateInit2 failed");
    }
    std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        throw std::runtime_error("zlib: deflate did not finish");
    }
    return out;
}

}  // namespace happy::http
