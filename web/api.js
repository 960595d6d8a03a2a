// The interactive API page (/developers/api): Swagger UI, served by mapd from
// web/node_modules/swagger-ui-dist, over this server's /openapi.json.
window.addEventListener('DOMContentLoaded', () => {
  window.ui = window.SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
