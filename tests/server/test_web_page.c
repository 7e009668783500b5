/*
 * test_web_page.c - the page compiled into the server (src/server/web_page.c)
 * is web/index.html byte for byte, so editing one without the other fails.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "server/server_internal.h"

int main(void) {
    const char *src = getenv("HONE_SOURCE");
    if (!src) test_skip("HONE_SOURCE not set");
    char path[4096];
    snprintf(path, sizeof path, "%s/web/index.html", src);
    size_t len = 0;
    char *page = test_read_file(path, &len);
    CHECKF(page != NULL, "cannot read %s", path);
    if (page) {
        CHECKF(len == strlen(WEB_PAGE_HTML) && memcmp(page, WEB_PAGE_HTML, len) == 0,
               "web/index.html (%zu bytes) differs from WEB_PAGE_HTML (%zu bytes): regenerate web_page.c", len,
               strlen(WEB_PAGE_HTML));
        CHECK(strstr(WEB_PAGE_HTML, "/v1/chat/completions") != NULL);
    }
    free(page);
    return test_finish();
}
