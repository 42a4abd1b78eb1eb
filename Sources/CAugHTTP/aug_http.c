// Range requests over libcurl, loaded with dlopen (see aug_http.h for why).
#include "aug_http.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef AUG_HTTP_LIBCURL_NAME
#define AUG_HTTP_LIBCURL_NAME "libcurl.so.4"
#endif

// The libcurl functions augload calls, resolved once.
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_reset)(CURL *);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    char failure[400];  // why loading failed; empty when it worked
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

// Limits (aug_http_configure); read when a request starts.
static long connect_ms = 10000, stall_s = 30, backoff_ms = 200;
static int retries = 3;

static void load(void) {
    void *lib = dlopen(AUG_HTTP_LIBCURL_NAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    if (lib) {
#define RESOLVE(field, name) \
    if (!(*(void **)&curl.field = dlsym(lib, name)) && !missing) missing = name;
        RESOLVE(global_init, "curl_global_init")
        RESOLVE(easy_init, "curl_easy_init")
        RESOLVE(easy_setopt, "curl_easy_setopt")
        RESOLVE(easy_perform, "curl_easy_perform")
        RESOLVE(easy_getinfo, "curl_easy_getinfo")
        RESOLVE(easy_reset, "curl_easy_reset")
        RESOLVE(easy_cleanup, "curl_easy_cleanup")
        RESOLVE(easy_strerror, "curl_easy_strerror")
#undef RESOLVE
    }
    if (!lib || missing) {
        snprintf(curl.failure, sizeof curl.failure,
                 "reading http(s):// URLs needs libcurl (Debian/Ubuntu: apt-get install libcurl4; RHEL/Fedora: dnf "
                 "install libcurl): %s",
                 lib ? missing : dlerror());
        return;
    }
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        snprintf(curl.failure, sizeof curl.failure, "libcurl did not initialise (curl_global_init failed)");
}

static void say(char *err, size_t errlen, const char *format, ...) {
    if (!err || errlen == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(err, errlen, format, args);
    va_end(args);
}

int aug_http_available(char *err, size_t errlen) {
    pthread_once(&load_once, load);
    if (curl.failure[0] == 0) return 0;
    say(err, errlen, "%s", curl.failure);
    return -1;
}

struct aug_http {
    CURL *easy;
    char error[CURL_ERROR_SIZE];
};

aug_http *aug_http_new(char *err, size_t errlen) {
    if (aug_http_available(err, errlen) != 0) return NULL;
    aug_http *h = calloc(1, sizeof *h);
    if (!h || !(h->easy = curl.easy_init())) {
        free(h);
        say(err, errlen, "libcurl could not make a handle (out of memory)");
        return NULL;
    }
    return h;
}

void aug_http_free(aug_http *h) {
    if (!h) return;
    curl.easy_cleanup(h->easy);
    free(h);
}

void aug_http_configure(long connect, long stall, int retry_count, long backoff) {
    connect_ms = connect;
    stall_s = stall;
    retries = retry_count;
    backoff_ms = backoff;
}

// Where a body goes: at most `capacity` bytes into `data`; more is an overflow, not a write past.
struct sink {
    uint8_t *data;
    size_t capacity, got;
    int overflow;
};

static size_t take(char *chunk, size_t size, size_t count, void *context) {
    struct sink *s = context;
    size_t n = size * count;
    if (n > s->capacity - s->got) {
        s->overflow = 1;
        return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    memcpy(s->data + s->got, chunk, n);
    s->got += n;
    return n;
}

// The request settings every call shares: timeouts, redirects, no signals (threads), errors.
static void prepare(aug_http *h, const char *url) {
    curl.easy_reset(h->easy);  // keeps the connection cache: the next request reuses the socket
    h->error[0] = 0;
    curl.easy_setopt(h->easy, CURLOPT_URL, url);
    curl.easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl.easy_setopt(h->easy, CURLOPT_MAXREDIRS, 5L);
    curl.easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl.easy_setopt(h->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl.easy_setopt(h->easy, CURLOPT_LOW_SPEED_TIME, stall_s);
    curl.easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->error);
    curl.easy_setopt(h->easy, CURLOPT_TCP_KEEPALIVE, 1L);
}

static void pause_before_retry(int attempt) {
    long ms = backoff_ms << (attempt < 16 ? attempt : 16);
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

// What to do after an attempt: 0 done, 1 retry, -1 fail (err written).
static int verdict(aug_http *h, CURLcode rc, long status, const char *url, const char *what, char *err, size_t errlen) {
    if (rc != CURLE_OK) {
        say(err, errlen, "%s %s: %s", what, url, h->error[0] ? h->error : curl.easy_strerror(rc));
        return 1;
    }
    if (status >= 500 || status == 429) {
        say(err, errlen, "%s %s: HTTP %ld from the server", what, url, status);
        return 1;
    }
    if (status >= 400) {
        say(err, errlen, "%s %s: HTTP %ld%s", what, url, status,
            status == 404 ? " (not found)" : status == 416 ? " (the range is past the end)" : "");
        return -1;
    }
    return 0;
}

int aug_http_range(aug_http *h, const char *url, uint64_t offset, size_t length, uint8_t *buf, char *err,
                   size_t errlen) {
    char what[96];
    snprintf(what, sizeof what, "range %llu-%llu of", (unsigned long long)offset,
             (unsigned long long)(offset + length - 1));
    if (length == 0) return 0;
    for (int attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) pause_before_retry(attempt - 1);
        struct sink s = {buf, length, 0, 0};
        char range[64];
        snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)offset, (unsigned long long)(offset + length - 1));
        prepare(h, url);
        curl.easy_setopt(h->easy, CURLOPT_RANGE, range);
        curl.easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, take);
        curl.easy_setopt(h->easy, CURLOPT_WRITEDATA, &s);
        CURLcode rc = curl.easy_perform(h->easy);
        long status = 0;
        curl.easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
        if (s.overflow) {
            // A 200 with the whole body: the server ignored the Range header.
            say(err, errlen, "%s %s: %s", what, url,
                status == 200 ? "the server ignored the Range header (it must support range requests)"
                              : "the server sent more bytes than asked");
            return -1;
        }
        int next = verdict(h, rc, status, url, what, err, errlen);
        if (next < 0) return -1;
        if (next > 0) continue;
        if (status != 206 && !(status == 200 && offset == 0)) {
            say(err, errlen, "%s %s: HTTP %ld instead of 206 (partial content)", what, url, status);
            return -1;
        }
        if (s.got == length) return 0;
        say(err, errlen, "%s %s: short body: got %zu of %zu bytes", what, url, s.got, length);
    }
    return -1;
}

// The ETag and Last-Modified response headers, as they arrive.
struct validators {
    char etag[256], modified[128];
};

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen) {
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0) return;
    const char *v = line + k;
    size_t m = n - k;
    while (m > 0 && (*v == ' ' || *v == '\t')) v++, m--;
    while (m > 0 && (v[m - 1] == '\r' || v[m - 1] == '\n' || v[m - 1] == ' ')) m--;
    if (m >= outlen) m = outlen - 1;
    memcpy(out, v, m);
    out[m] = 0;
}

static size_t on_header(char *line, size_t size, size_t count, void *context) {
    struct validators *v = context;
    size_t n = size * count;
    header_value(line, n, "etag:", v->etag, sizeof v->etag);
    header_value(line, n, "last-modified:", v->modified, sizeof v->modified);
    return n;
}

int aug_http_head(aug_http *h, const char *url, uint64_t *size, char *validator, size_t vlen, char *err,
                  size_t errlen) {
    for (int attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) pause_before_retry(attempt - 1);
        struct validators v = {{0}, {0}};
        prepare(h, url);
        curl.easy_setopt(h->easy, CURLOPT_NOBODY, 1L);
        curl.easy_setopt(h->easy, CURLOPT_HEADERFUNCTION, on_header);
        curl.easy_setopt(h->easy, CURLOPT_HEADERDATA, &v);
        CURLcode rc = curl.easy_perform(h->easy);
        long status = 0;
        curl.easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
        int next = verdict(h, rc, status, url, "HEAD", err, errlen);
        if (next < 0) return -1;
        if (next > 0) continue;
        curl_off_t length = -1;
        curl.easy_getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        if (length < 0) {
            say(err, errlen, "HEAD %s: the server gave no Content-Length (a shard's size must be known)", url);
            return -1;
        }
        *size = (uint64_t)length;
        if (validator && vlen > 0) snprintf(validator, vlen, "etag=%s;last-modified=%s", v.etag, v.modified);
        return 0;
    }
    return -1;
}
