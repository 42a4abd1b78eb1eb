// Range requests over HTTP(S) for shards at URLs, through libcurl loaded at run time.
//
// libcurl is opened with dlopen("libcurl.so.4") the first time a URL is read, never linked: the
// engine (and the wheel) needs nothing new, and a machine without libcurl reads folders and shards
// on disk as before; only URLs fail, with a message naming the package to install.
//
// Errors: every function that can fail returns -1 and writes a one-line message naming the URL into
// `err` (NUL-terminated, truncated to errlen bytes; `err` may be NULL). Messages end with
// "(after N attempts)" when retries were spent.
//
// Threads: a handle belongs to one thread at a time (it holds one keep-alive connection); make one
// handle per thread. Different handles may be used concurrently. Only http:// and https:// URLs
// are accepted; redirects (at most 5) are followed within those schemes.
#ifndef AUG_HTTP_H
#define AUG_HTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One connection's worth of state: a curl easy handle whose connection stays open between requests.
typedef struct aug_http aug_http;

/// Loads libcurl (once per process; later calls return the first answer).
/// Returns 0 when URLs can be read; else -1 with `err` = "reading http(s):// URLs needs libcurl
/// (Debian/Ubuntu: apt-get install libcurl4; RHEL/Fedora: dnf install libcurl): <dlerror text>".
int aug_http_available(char *err, size_t errlen);

/// A new handle with the limits of the last aug_http_configure (or the defaults).
/// Returns NULL with `err` filled when libcurl is unavailable (the message above) or out of memory.
aug_http *aug_http_new(char *err, size_t errlen);

/// Closes the handle's connection and frees it. NULL is ignored.
void aug_http_free(aug_http *h);

/// Process-wide limits, copied into each handle when it is made (so call it once, at startup):
///   connect_ms  connect timeout (default 10000)
///   stall_s     a transfer below 1 byte/s for this many seconds is abandoned (default 30)
///   retries     retries after the first attempt (default 3: 4 attempts)
///   backoff_ms  the pause before the first retry, doubling for each next one (default 200)
/// A negative value keeps that limit as it is.
void aug_http_configure(long connect_ms, long stall_s, int retries, long backoff_ms);

/// Reads bytes [offset, offset + length) of `url` into `buf` with one Range request
/// ("Range: bytes=offset-(offset+length-1)"). A length of 0 reads nothing and returns 0.
/// Returns 0 when exactly `length` bytes were written to `buf`; else -1 with `err` naming the URL,
/// the range and the reason: the HTTP status, curl's error text, "server ignored the Range header"
/// (a 200 answer that is not exactly the range asked), "short body: got N of M bytes", or
/// "sent more bytes than asked" (never written past buf + length).
/// Retried with back-off: connection errors, timeouts, stalls, 5xx, 429, bodies cut short.
/// Not retried: other 4xx (403, 404, 416...), an ignored Range header, a range passing the end.
/// `buf` may be overwritten in part on failure.
int aug_http_range(aug_http *h, const char *url, uint64_t offset, size_t length, uint8_t *buf, char *err,
                   size_t errlen);

/// HEAD: the resource's size (Content-Length) into *size, and its validators
/// "etag=<ETag>;last-modified=<Last-Modified>" (either part empty when the server sends none),
/// NUL-terminated and truncated to vlen bytes into `validator` (may be NULL).
/// Returns 0, or -1 with `err` (as for aug_http_range; also when the answer has no Content-Length).
/// Retried like aug_http_range.
int aug_http_head(aug_http *h, const char *url, uint64_t *size, char *validator, size_t vlen, char *err,
                  size_t errlen);

/// GET of the whole resource, streamed: sink(ctx, data, n) is called for each chunk, in order, with
/// n > 0; the sink returns 0 to go on, nonzero to stop.
/// Returns 0 when the whole body reached the sink; 1 when the sink asked to stop (not an error);
/// -1 with `err` (naming the URL and, when some bytes were delivered, how many).
/// Failures before the first delivered byte are retried like aug_http_range. A failure after bytes
/// were delivered is resumed, never restarted: "Range: bytes=<delivered>-" with If-Range (the first
/// answer's strong ETag or Last-Modified), and only a 206 starting at that byte is accepted, so
/// the sink sees every byte once and in order. Attempts are counted per failure without progress.
int aug_http_stream(aug_http *h, const char *url, int (*sink)(void *ctx, const uint8_t *data, size_t n), void *ctx,
                    char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
