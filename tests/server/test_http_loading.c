/*
 * test_http_loading.c - the HTTP layer before a model is attached: the
 * server listens at once, GET /health answers 503 "loading" (with
 * Retry-After), API calls answer 503 in OpenAI's error shape, the chat page
 * and /metrics (hone_ready 0) are served, the API key is enforced, a body
 * over the limit gets 413, and the server stops cleanly. Needs no model.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "server/server.h"

/* One request on a fresh connection; returns the status, copies the response into out. */
static int http(int port, const char *req, char *out, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    size_t n = strlen(req), off = 0;
    while (off < n) {
        ssize_t k = write(fd, req + off, n - off);
        if (k <= 0) break;
        off += (size_t)k;
    }
    size_t got = 0;
    for (;;) {
        ssize_t k = read(fd, out + got, cap - 1 - got);
        if (k <= 0) break;
        got += (size_t)k;
        if (got + 1 >= cap) break;
    }
    out[got] = '\0';
    close(fd);
    int status = -1;
    sscanf(out, "HTTP/1.%*d %d", &status);
    return status;
}

int main(void) {
    server_config cfg = server_default_config();
    cfg.port = 0;
    cfg.api_key = "k";
    cfg.max_body = 1000;
    cfg.quiet = true;
    server *srv = NULL;
    CHECKF(server_start(&cfg, &srv) == HONE_OK, "start: %s", hone_last_error());
    if (!srv) return test_finish();
    const int port = server_port(srv);
    CHECK(port > 0);
    static char buf[1 << 16];
    CHECK(http(port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf, sizeof buf) == 503);
    CHECK(strstr(buf, "loading") != NULL && strstr(buf, "Retry-After: 1") != NULL);
    CHECK(http(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf, sizeof buf) == 200);
    CHECK(strstr(buf, "<title>hone chat</title>") != NULL);
    CHECK(http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nConnection: close\r\n\r\n", buf,
               sizeof buf) == 200);
    CHECK(strstr(buf, "hone_ready 0") != NULL && strstr(buf, "hone_kv_cells_leaked 0") != NULL);
    CHECK(http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer j\r\nConnection: close\r\n\r\n", buf,
               sizeof buf) == 401);
    CHECK(strstr(buf, "invalid_api_key") != NULL);
    const char *post = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                       "Content-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n"
                       "{\"prompt\":\"hi\"}";
    CHECK(http(port, post, buf, sizeof buf) == 503);
    CHECK(strstr(buf, "\"error\"") != NULL && strstr(buf, "loading") != NULL);
    char big[2048];
    int n = snprintf(big, sizeof big,
                     "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: 1200\r\n"
                     "Connection: close\r\n\r\n");
    memset(big + n, 'x', 1200);
    big[n + 1200] = '\0';
    CHECK(http(port, big, buf, sizeof buf) == 413);
    CHECK(http(port, "DELETE /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nConnection: close\r\n\r\n",
               buf, sizeof buf) == 503); /* known path, not ready yet */
    CHECK(http(port, "GET /nope HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nConnection: close\r\n\r\n", buf,
               sizeof buf) == 404);
    server_drain(srv);
    server_stop(srv);
    return test_finish();
}
