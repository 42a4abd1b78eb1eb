// Range requests over HTTP(S) for shards at URLs, through libcurl loaded at run time.
//
// libcurl is opened with dlopen("libcurl.so.4") the first time a URL is read, never linked: the
// engine (and the wheel) needs nothing new, and a machine without libcurl reads folders and shards
// on disk as before; only URLs fail, with a message naming the package to install.
//
// Every function that can fail returns 0 on success and -1 with a one-line message naming the URL
// in `err` (NUL-terminated, at most errlen bytes). Handles are not shared between threads.
#ifndef AUG_HTTP_H
#define AUG_HTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One connection's worth of state: a curl easy handle whose connection stays open between requests.
typedef struct aug_http aug_http;

/// Loads libcurl once. 0 when URLs can be read; else -1 and why (naming the package to install).
int aug_http_available(char *err, size_t errlen);

/// A new handle, or NULL (with err) when libcurl is unavailable.
aug_http *aug_http_new(char *err, size_t errlen);
void aug_http_free(aug_http *h);

/// Process-wide limits for requests made after the call: the connect timeout, the stall limit (a
/// transfer below 1 byte/s for stall_s seconds is abandoned), retries after the first attempt and
/// the first back-off (doubling each retry). Defaults: 10000 ms, 30 s, 3, 200 ms.
void aug_http_configure(long connect_ms, long stall_s, int retries, long backoff_ms);

/// Reads bytes [offset, offset + length) of `url` into `buf` with one Range request. Retries
/// connection failures, timeouts, 5xx, 429 and short bodies; not other 4xx (404, 403, 416).
int aug_http_range(aug_http *h, const char *url, uint64_t offset, size_t length, uint8_t *buf, char *err, size_t errlen);

/// HEAD: the resource's size and its validators, "etag=<ETag>;last-modified=<Last-Modified>"
/// (either part empty when the server sends none), NUL-terminated into `validator`.
int aug_http_head(aug_http *h, const char *url, uint64_t *size, char *validator, size_t vlen, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
