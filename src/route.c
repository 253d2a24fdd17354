/* route.c - which URLs may carry a key, and through what (see route.h). */
#include "route.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- proxies ---- */

static const char *const PROXY_SCHEMES[] = {"http", "https", "socks", "socks4", "socks4a",
                                             "socks5", "socks5h", NULL};

int ae_proxy_check(const char *what, const char *proxy, char *err, size_t errlen) {
  static const char fix[] = "give http://HOST:PORT (https requests go through it as a CONNECT "
                            "tunnel), https://HOST:PORT or socks5h://HOST:PORT";
  CURLU *u;
  char *scheme = NULL, *host = NULL;
  int ok = 0;
  for (const unsigned char *p = (const unsigned char *)proxy; *p; p++) {
    if (*p <= ' ' || *p == 0x7f) {
      snprintf(err, errlen, "%s contains %s at byte %d; a proxy URL has no control bytes or "
               "spaces: %s", what, *p == ' ' ? "a space" : "a control byte",
               (int)(p - (const unsigned char *)proxy) + 1, fix);
      return 0;
    }
  }
  if (!(u = curl_url())) {
    snprintf(err, errlen, "out of memory");
    return 0;
  }
  /* as libcurl reads a proxy: a made-up scheme (socks5h) parses, a missing one is guessed */
  if (curl_url_set(u, CURLUPART_URL, proxy, CURLU_NON_SUPPORT_SCHEME | CURLU_GUESS_SCHEME) !=
          CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
    snprintf(err, errlen, "%s is not a proxy URL libcurl can read; %s", what, fix);
  } else {
    int known = 0;
    for (int i = 0; PROXY_SCHEMES[i]; i++) known |= strcasecmp(scheme, PROXY_SCHEMES[i]) == 0;
    if (!known) {
      snprintf(err, errlen, "%s names a proxy of scheme '%.20s', which cannot carry a request; %s",
               what, scheme, fix);
    } else if (strcasecmp(scheme, "https") == 0 &&
               !(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTPS_PROXY)) {
      snprintf(err, errlen, "%s names an https:// proxy, and this libcurl has no HTTPS-proxy "
               "support; give http://HOST:PORT (the TLS to the API stays end to end) or "
               "socks5h://HOST:PORT", what);
    } else {
      ok = 1;
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return ok;
}

/* getenv, with an empty value as unset (as libcurl reads them). */
static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* Whether NO_PROXY (no_proxy first) names host, the way libcurl matches names: "*" matches every
 * host, an entry matches the host itself and the names under it (a leading '.' is ignored).
 * Address ranges (10.0.0.0/8) are not matched here: for them the proxy is checked anyway. */
static int no_proxy_names(const char *host) {
  const char *list = env("no_proxy");
  size_t hlen = strlen(host);
  if (!list) list = env("NO_PROXY");
  if (!list) return 0;
  while (*list) {
    list += strspn(list, ", \t");
    size_t n = strcspn(list, ", \t");
    const char *item = list;
    list += n;
    if (n == 1 && item[0] == '*') return 1;
    if (n > 0 && item[0] == '.') item++, n--;
    if (n == 0 || n > hlen) continue;
    if (strncasecmp(host + hlen - n, item, n) == 0 && (n == hlen || host[hlen - n - 1] == '.'))
      return 1;
  }
  return 0;
}

/* The variable libcurl would take the proxy of a request from (lib/url.c, detect_proxy): the
 * scheme's own (http_proxy only in lower case: HTTP_PROXY can be set by a CGI request's
 * "Proxy:" header), then all_proxy, ALL_PROXY. NULL when none is set. */
static const char *proxy_variable(int https) {
  static const char *const for_https[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL};
  static const char *const for_http[] = {"http_proxy", "all_proxy", "ALL_PROXY", NULL};
  for (const char *const *v = https ? for_https : for_http; *v; v++)
    if (env(*v)) return *v;
  return NULL;
}

static int check_proxy(const char *host, int https, const char *proxy, char *err, size_t errlen) {
  char what[64];
  if (proxy) return !*proxy || ae_proxy_check("the proxy option", proxy, err, errlen);
  if (no_proxy_names(host)) return 1;
  const char *var = proxy_variable(https);
  if (!var) return 1;
  snprintf(what, sizeof what, "the %s environment variable", var);
  return ae_proxy_check(what, env(var), err, errlen);
}

int ae_route_check(const char *url, int has_key, const char *proxy, ae_route *r, char *err,
                   size_t errlen) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  int ok = 0;
  memset(r, 0, sizeof *r);
  if (!u) {
    snprintf(err, errlen, "out of memory");
    return 0;
  }
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    snprintf(err, errlen, "invalid URL '%.200s'; expected http(s)://host[:port]/path", url);
  } else if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
    snprintf(err, errlen, "unsupported URL scheme '%.20s'; use https://", scheme);
  } else {
    int loopback = ae_host_is_loopback(host);
    r->https = strcmp(scheme, "https") == 0;
    r->direct = loopback;
    r->loopback_only = loopback && !r->https;
    if (has_key && !r->https && !loopback) {
      snprintf(err, errlen,
               "refusing to send the API key over plain http to %.200s; use https:// "
               "(plain http is allowed only for loopback addresses: 127.0.0.0/8, ::1, localhost)",
               host);
    } else {
      ok = loopback || check_proxy(host, r->https, proxy, err, errlen);
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return ok;
}
