"use strict";
// Starts the vendored Swagger UI on the service's OpenAPI schema; a file of its own because the pages'
// Content-Security-Policy refuses inline scripts. The options are FastAPI's defaults for its /docs.
(() => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
