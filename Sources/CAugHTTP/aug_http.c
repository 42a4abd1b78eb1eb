// Range requests over libcurl, loaded with dlopen (see aug_http.h for why). curl.h gives types and
// CURLOPT_* constants only: every curl function is called through the table below, so the engine
// binary has no libcurl symbol to resolve when it starts.
#include "aug_http.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef AUG_HTTP_LIBCURL_NAME
#define AUG_HTTP_LIBCURL_NAME "libcurl.so.4"
#endif

// The libcurl functions used: filled once (pthread_once), read-only afterwards.
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    void (*easy_reset)(CURL *);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    char failure[512];  // why libcurl is unusable; empty when it loaded
} curl;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

// aug_http_configure's limits. Atomic because the API makes them process-wide; a handle copies
// them when made, so a request never sees them change under it.
static _Atomic long default_connect_ms = 10000, default_stall_s = 30, default_backoff_ms = 200;
static _Atomic int default_retries = 3;

#define NEEDS_LIBCURL \
    "reading http(s):// URLs needs libcurl (Debian/Ubuntu: apt-get install libcurl4; RHEL/Fedora: dnf install libcurl)"

static void load_curl(void) {
    void *lib = dlopen(AUG_HTTP_LIBCURL_NAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(curl.failure, sizeof curl.failure, NEEDS_LIBCURL ": %s", dlerror());
        return;
    }
    const char *missing = NULL;
    // POSIX's way to store dlsym's object pointer into a function pointer.
#define RESOLVE(field, name) \
    if (!missing && !(*(void **)&curl.field = dlsym(lib, name))) missing = name
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_perform, "curl_easy_perform");
    RESOLVE(easy_reset, "curl_easy_reset");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_strerror, "curl_easy_strerror");
#undef RESOLVE
    // The library stays open even when unusable: dlclose would buy nothing.
    if (missing)
        snprintf(curl.failure, sizeof curl.failure, NEEDS_LIBCURL ": %s has no %s", AUG_HTTP_LIBCURL_NAME, missing);
    else if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        snprintf(curl.failure, sizeof curl.failure, "libcurl did not initialise (curl_global_init failed)");
}

// Writes a message into err, on one line whatever the URL or curl's text hold. Returns -1.
__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *format, ...) {
    if (!err || errlen == 0) return -1;
    va_list args;
    va_start(args, format);
    vsnprintf(err, errlen, format, args);
    va_end(args);
    for (char *c = err; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    return -1;
}

int aug_http_available(char *err, size_t errlen) {
    pthread_once(&curl_once, load_curl);
    return curl.failure[0] ? fail(err, errlen, "%s", curl.failure) : 0;
}

struct aug_http {
    CURL *easy;
    long connect_ms, stall_s, backoff_ms;  // the defaults when it was made
    int retries;
    char error[CURL_ERROR_SIZE];  // curl's own words for the last failure
};

aug_http *aug_http_new(char *err, size_t errlen) {
    if (aug_http_available(err, errlen) != 0) return NULL;
    aug_http *h = calloc(1, sizeof *h);
    if (!h || !(h->easy = curl.easy_init())) {
        free(h);
        fail(err, errlen, "libcurl could not make a handle (out of memory)");
        return NULL;
    }
    h->connect_ms = atomic_load(&default_connect_ms);
    h->stall_s = atomic_load(&default_stall_s);
    h->backoff_ms = atomic_load(&default_backoff_ms);
    h->retries = atomic_load(&default_retries);
    return h;
}

void aug_http_free(aug_http *h) {
    if (h) curl.easy_cleanup(h->easy);
    free(h);
}

void aug_http_configure(long connect_ms, long stall_s, int retries, long backoff_ms) {
    if (connect_ms >= 0) atomic_store(&default_connect_ms, connect_ms);
    if (stall_s >= 0) atomic_store(&default_stall_s, stall_s);
    if (retries >= 0) atomic_store(&default_retries, retries);
    if (backoff_ms >= 0) atomic_store(&default_backoff_ms, backoff_ms);
}

// The head of the final response: each status line (a redirect's, then the target's) starts afresh.
struct response {
    long status;
    char reason[64];  // the status line's words ("Not Found"); HTTP/2 has none
    long long length, range_start, range_total;  // Content-Length, Content-Range "bytes a-b/N"; -1: absent
    char etag[256], modified[128];
};
static const struct response no_response = {.length = -1, .range_start = -1, .range_total = -1};

enum mode { INTO_BUFFER, INTO_SINK, NO_BODY };

// Why the body callback stopped a transfer (curl then reports CURLE_WRITE_ERROR, which says less).
enum refusal { NONE, OVERFLOW, RANGE_IGNORED, WRONG_RANGE, SINK_STOPPED, ERROR_BODY };

// A request over all its attempts; run() resets the per-attempt part.
struct transfer {
    enum mode mode;
    uint64_t offset;  // the first byte asked for: the range's, or where a stream resumes
    char range[48];   // CURLOPT_RANGE ("a-b", "a-"), empty for none
    uint8_t *buf;     // INTO_BUFFER: at most cap bytes, got so far
    size_t cap, got;
    int (*sink)(void *, const uint8_t *, size_t);  // INTO_SINK
    void *ctx;
    uint64_t delivered;   // INTO_SINK: bytes the sink has had, over all attempts
    char validator[256];  // INTO_SINK: the first answer's identity, for If-Range on a resume
    enum refusal refused;
    struct response r;
};

// The value of header `name` (with its colon) in `line`, trimmed in place; NULL for another header.
static char *header_value(char *line, const char *name) {
    size_t k = strlen(name);
    if (strncasecmp(line, name, k) != 0) return NULL;
    char *v = line + k + strspn(line + k, " \t");
    size_t n = strlen(v);
    while (n > 0 && strchr(" \t\r\n", v[n - 1])) v[--n] = 0;
    return v;
}

static size_t on_header(char *data, size_t size, size_t count, void *context) {
    struct response *r = &((struct transfer *)context)->r;
    size_t n = size * count;
    char line[512], *v;
    if (n >= sizeof line) return n;  // no header read here is that long
    memcpy(line, data, n);
    line[n] = 0;
    unsigned long long a, b;
    if (strncmp(line, "HTTP/", 5) == 0) {
        *r = no_response;
        sscanf(line, "HTTP/%*s %ld %63[^\r\n]", &r->status, r->reason);
    } else if ((v = header_value(line, "content-length:")) && sscanf(v, "%llu", &a) == 1) {
        r->length = (long long)a;
    } else if ((v = header_value(line, "content-range:"))) {
        if (sscanf(v, "bytes %llu-%llu", &a, &b) == 2) r->range_start = (long long)a;
        if (sscanf(v, "bytes %*[0-9*-]/%llu", &a) == 1) r->range_total = (long long)a;
    } else if ((v = header_value(line, "etag:"))) {
        snprintf(r->etag, sizeof r->etag, "%s", v);
    } else if ((v = header_value(line, "last-modified:"))) {
        snprintf(r->modified, sizeof r->modified, "%s", v);
    }
    return n;
}

// A 200 carries the whole resource: it is the range asked for only when that starts at 0 and the
// resource is exactly as long (an unknown length is checked when the body ends).
static size_t into_buffer(struct transfer *t, const char *data, size_t n) {
    int whole = t->r.status != 206;
    if (whole && (t->offset != 0 || (t->r.length >= 0 && (unsigned long long)t->r.length != t->cap)))
        t->refused = RANGE_IGNORED;  // stop now rather than pull a whole shard
    else if (!whole && t->r.range_start >= 0 && (unsigned long long)t->r.range_start != t->offset)
        t->refused = WRONG_RANGE;
    else if (n > t->cap - t->got)  // never past buf + cap, whatever the server sends
        t->refused = whole ? RANGE_IGNORED : OVERFLOW;
    if (t->refused) return 0;
    memcpy(t->buf + t->got, data, n);
    t->got += n;
    return n;
}

// A resumed stream must go on at exactly the next byte: a 200 (the resource changed, per If-Range,
// or Range is unsupported) or another start would repeat or skip bytes.
static size_t into_sink(struct transfer *t, const char *data, size_t n) {
    const struct response *r = &t->r;
    if (t->offset > 0 && (r->status != 206 || r->range_start != (long long)t->offset)) {
        t->refused = WRONG_RANGE;
        return 0;
    }
    if (t->delivered == 0)  // If-Range takes a strong ETag (a weak one is not allowed), else the date
        snprintf(t->validator, sizeof t->validator, "%s", r->etag[0] && r->etag[0] != 'W' ? r->etag : r->modified);
    t->delivered += n;
    if (t->sink(t->ctx, (const uint8_t *)data, n) == 0) return n;
    t->refused = SINK_STOPPED;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t count, void *context) {
    struct transfer *t = context;
    size_t n = size * count;
    if (n == 0) return 0;
    if (t->r.status < 200 || t->r.status >= 300) t->refused = ERROR_BODY;  // the status says it all
    if (t->refused) return 0;
    return t->mode == INTO_BUFFER ? into_buffer(t, data, n) : t->mode == INTO_SINK ? into_sink(t, data, n) : n;
}

// curl_easy_reset forgets the last request's options but keeps the connection cache: the socket
// is reused. No CURLOPT_ACCEPT_ENCODING: with compression, Range would count compressed bytes.
static CURLcode run(aug_http *h, const char *url, struct transfer *t) {
    CURL *e = h->easy;
    curl.easy_reset(e);
    h->error[0] = 0;
    t->got = 0;
    t->refused = NONE;
    t->r = no_response;
    curl.easy_setopt(e, CURLOPT_URL, url);
    curl.easy_setopt(e, CURLOPT_ERRORBUFFER, h->error);
    curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: other threads run
    curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");  // 7.85+; older ones ignore it
    curl.easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl.easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl.easy_setopt(e, CURLOPT_FAILONERROR, 0L);  // the status is judged here, with its name
    curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms);
    curl.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, h->stall_s);
    curl.easy_setopt(e, CURLOPT_USERAGENT, "augload (libcurl)");
    curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(e, CURLOPT_WRITEDATA, t);
    if (t->mode == NO_BODY) curl.easy_setopt(e, CURLOPT_NOBODY, 1L);
    if (t->mode == INTO_SINK && (t->offset = t->delivered) > 0)  // a resume
        snprintf(t->range, sizeof t->range, "%llu-", (unsigned long long)t->offset);
    if (t->range[0]) curl.easy_setopt(e, CURLOPT_RANGE, t->range);
    // One header needs no curl_slist_append: a list node on the stack outlives the transfer.
    char line[300];
    struct curl_slist header = {line, NULL};
    if (t->mode == INTO_SINK && t->offset > 0 && t->validator[0]) {
        snprintf(line, sizeof line, "If-Range: %s", t->validator);
        curl.easy_setopt(e, CURLOPT_HTTPHEADER, &header);
    }
    return curl.easy_perform(e);
}

enum verdict { DONE, RETRY, FAIL, STOPPED };

// Writes why into `why` and returns the verdict, so that each case is one statement.
__attribute__((format(printf, 4, 5))) static enum verdict because(enum verdict v, char *why, size_t n,
                                                                  const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(why, n, format, args);
    va_end(args);
    return v;
}

// Transport failures another attempt could cure; a bad URL, scheme, certificate or a redirect loop
// would fail the same way again.
static int transient(CURLcode rc) {
    return !(rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT || rc == CURLE_NOT_BUILT_IN ||
             rc == CURLE_TOO_MANY_REDIRECTS || rc == CURLE_PEER_FAILED_VERIFICATION ||
             rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_OUT_OF_MEMORY);
}

// curl's result and the status, the same for every request.
static enum verdict judge(const aug_http *h, const struct transfer *t, CURLcode rc, char *why, size_t n) {
    if (rc != CURLE_OK && t->refused != ERROR_BODY)
        return because(transient(rc) ? RETRY : FAIL, why, n, "%s", h->error[0] ? h->error : curl.easy_strerror(rc));
    long s = t->r.status;
    enum verdict v = s >= 500 || s == 429 ? RETRY : FAIL;
    if (s >= 200 && s < 300) return DONE;
    if (s == 416 && t->r.range_total >= 0)
        return because(v, why, n, "HTTP 416 %s (the range starts past the end: the resource has %lld bytes)",
                       t->r.reason, t->r.range_total);
    return because(v, why, n, "HTTP %ld%s%s", s, t->r.reason[0] ? " " : "", t->r.reason);
}

static enum verdict range_verdict(const aug_http *h, const struct transfer *t, CURLcode rc, char *why, size_t n) {
    if (t->refused == OVERFLOW) return because(FAIL, why, n, "the server sent more bytes than asked (%zu)", t->cap);
    if (t->refused == RANGE_IGNORED || (rc == CURLE_OK && t->r.status == 200 && t->got != t->cap))
        return because(FAIL, why, n, "the server ignored the Range header (HTTP %ld, Content-Length %lld; it must "
                       "support range requests)", t->r.status, t->r.length);
    if (t->refused == WRONG_RANGE)
        return because(FAIL, why, n, "the server sent another range (from byte %lld)", t->r.range_start);
    if (rc == CURLE_PARTIAL_FILE)  // the connection ended inside the body
        return because(RETRY, why, n, "short body: got %zu of %zu bytes (%s)", t->got, t->cap, h->error);
    enum verdict v = judge(h, t, rc, why, n);
    if (v != DONE || t->got == t->cap) return v;
    // A complete answer that is short says the range passes the end, which no retry changes.
    int complete = t->r.length >= 0 && (unsigned long long)t->r.length == t->got;
    if (complete && t->r.range_total >= 0)
        return because(FAIL, why, n, "short body: got %zu of %zu bytes (the resource has %lld)", t->got, t->cap,
                       t->r.range_total);
    return because(complete ? FAIL : RETRY, why, n, "short body: got %zu of %zu bytes", t->got, t->cap);
}

static enum verdict verdict(const aug_http *h, const struct transfer *t, CURLcode rc, char *why, size_t n) {
    if (t->mode == INTO_BUFFER) return range_verdict(h, t, rc, why, n);
    if (t->refused == SINK_STOPPED) return STOPPED;
    if (t->refused == WRONG_RANGE)
        return because(FAIL, why, n, "could not resume: HTTP %ld to Range: bytes=%s (the resource changed, or the "
                       "server does not support ranges)", t->r.status, t->range);
    enum verdict v = judge(h, t, rc, why, n);
    if (v == DONE && t->mode == NO_BODY && t->r.length < 0)
        return because(FAIL, why, n, "no Content-Length in the answer (the size must be known)");
    return v;
}

// Sleeps backoff_ms << (attempt - 1) before the next attempt.
static void back_off(const aug_http *h, int attempt) {
    long ms = h->backoff_ms << (attempt - 1 < 16 ? attempt - 1 : 16);
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

// Attempts until one succeeds, fails for good, or the retries are spent. Returns 0, 1 (the sink
// stopped), or -1 with err = "<method> <url>[ (bytes a-b)]: <why>[ (after N attempts)][ at byte N]".
static int attempts(aug_http *h, const char *method, const char *url, struct transfer *t, char *err, size_t errlen) {
    if (!h || !url || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
        return fail(err, errlen, "%s %s: %s", method, url ? url : "(null)", h ? "not an http(s):// URL" : "no handle");
    char why[CURL_ERROR_SIZE + 160], bytes[64] = "", tries[32] = "", at[32] = "";
    int attempt = 1;
    for (;; attempt++) {
        uint64_t before = t->delivered;
        enum verdict v = verdict(h, t, run(h, url, t), why, sizeof why);
        if (v == DONE || v == STOPPED) return v == STOPPED;
        if (t->delivered > before) attempt = 1;  // only failures in a row without progress count
        if (v == FAIL || attempt > h->retries) break;
        back_off(h, attempt);
    }
    if (attempt > 1) snprintf(tries, sizeof tries, " (after %d attempts)", attempt);
    if (t->delivered) snprintf(at, sizeof at, " at byte %llu", (unsigned long long)t->delivered);
    if (t->mode == INTO_BUFFER) snprintf(bytes, sizeof bytes, " (bytes %s)", t->range);
    return fail(err, errlen, "%s %s%s: %s%s%s", method, url, bytes, why, tries, at);
}

int aug_http_range(aug_http *h, const char *url, uint64_t offset, size_t length, uint8_t *buf, char *err,
                   size_t errlen) {
    if (length == 0) return 0;
    if (!buf || offset > UINT64_MAX - length)
        return fail(err, errlen, "GET %s: bad range (offset %llu, length %zu)", url ? url : "(null)",
                    (unsigned long long)offset, length);
    struct transfer t = {.mode = INTO_BUFFER, .offset = offset, .buf = buf, .cap = length};
    snprintf(t.range, sizeof t.range, "%llu-%llu", (unsigned long long)offset, (unsigned long long)(offset + length - 1));
    return attempts(h, "GET", url, &t, err, errlen);
}

int aug_http_head(aug_http *h, const char *url, uint64_t *size, char *validator, size_t vlen, char *err,
                  size_t errlen) {
    struct transfer t = {.mode = NO_BODY};
    if (attempts(h, "HEAD", url, &t, err, errlen) != 0) return -1;
    if (size) *size = (uint64_t)t.r.length;
    if (validator && vlen > 0) snprintf(validator, vlen, "etag=%s;last-modified=%s", t.r.etag, t.r.modified);
    return 0;
}

int aug_http_stream(aug_http *h, const char *url, int (*sink)(void *ctx, const uint8_t *data, size_t n), void *ctx,
                    char *err, size_t errlen) {
    if (!sink) return fail(err, errlen, "GET %s: no sink", url ? url : "(null)");
    struct transfer t = {.mode = INTO_SINK, .sink = sink, .ctx = ctx};
    return attempts(h, "GET", url, &t, err, errlen);
}
