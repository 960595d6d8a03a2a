// Checks recorded HTTP answers against web/openapi.json (the OpenAPI 3.1
// document of /api/v1 and /open311). Used by openapi_conformance.mjs (every
// answer the integration and node tests received, MAPD_API_RECORD_DIR) and
// by openapi.mjs (answers it asks for itself).
//
// An answer conforms when its path matches a documented path (literal
// segments before templated ones), its method is documented there (HEAD as
// GET), its status is documented (exact, then 4XX-style, then default; a 304
// to a conditional GET is always allowed), its media type is listed for that
// status, and a JSON body validates against the schema (Ajv, JSON Schema
// 2020-12, the dialect of OpenAPI 3.1). A path that matches no documented
// path conforms only as a 404/405 with the JSON error body; anything else
// from an undocumented route fails.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const DOC_PATH = join(here, '..', '..', 'web', 'openapi.json');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

export function loadChecker(doc = JSON.parse(readFileSync(DOC_PATH, 'utf8'))) {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi.json');
  const templates = Object.keys(doc.paths).map((t) => {
    const parts = t.split(/(\{[^}]+\})/).filter(Boolean);
    const re = new RegExp('^' + parts.map((p) => (p.startsWith('{') ? '([^/]+)' : escapeRe(p))).join('') + '$');
    const literal = parts.filter((p) => !p.startsWith('{')).join('').length;
    return { template: t, re, literal, item: doc.paths[t] };
  }).sort((a, b) => b.literal - a.literal);
  const validators = new Map();
  const resolve = (obj) => {
    let o = obj;
    while (o && o.$ref) {
      const ptr = o.$ref.replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      o = ptr.reduce((acc, k) => acc[k], doc);
    }
    return o;
  };
  const pointer = (parts) => 'openapi.json#/' + parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
  const errorValidator = ajv.getSchema(pointer(['components', 'schemas', 'Error']));
  const o311ErrorValidator = ajv.getSchema(pointer(['components', 'schemas', 'Open311Errors']));

  function findPath(pathname) {
    return templates.find((t) => t.re.test(pathname));
  }

  // One answer: { method, path, status, content_type, body, truncated }.
  // Returns null when it conforms, else a short reason.
  function check(entry) {
    const url = new URL(entry.path, 'http://x');
    const method = entry.method.toUpperCase() === 'HEAD' ? 'get' : entry.method.toLowerCase();
    const t = findPath(url.pathname);
    const media = (entry.content_type || '').split(';')[0].trim().toLowerCase();
    const isJson = media === 'application/json' || media.endsWith('+json');
    const parseBody = () => {
      try { return { value: JSON.parse(entry.body) }; } catch (e) { return { error: `body is not JSON: ${e.message}` }; }
    };
    if (entry.method.toUpperCase() === 'OPTIONS' && entry.status === 204) return null; // CORS preflight
    if (!t) {
      if ((entry.status === 404 || entry.status === 405) && isJson) {
        const b = parseBody();
        if (b.error) return b.error;
        if (url.pathname.startsWith('/open311/') && o311ErrorValidator(b.value)) return null;
        return errorValidator(b.value) ? null : `error body: ${ajv.errorsText(errorValidator.errors)}`;
      }
      return `undocumented route (status ${entry.status})`;
    }
    const opKey = METHODS.includes(method) ? method : null;
    const operation = opKey && t.item[opKey];
    if (!operation) {
      if (entry.status === 405) return null;
      return `method ${entry.method} is not documented for ${t.template} (status ${entry.status})`;
    }
    const code = String(entry.status);
    const responses = operation.responses || {};
    let key = code in responses ? code : `${code[0]}XX` in responses ? `${code[0]}XX` : 'default' in responses ? 'default' : null;
    if (!key) {
      if (entry.status === 304) return null;
      return `status ${code} is not documented`;
    }
    const response = resolve(responses[key]);
    const content = response.content || {};
    if (!Object.keys(content).length) return entry.body && !entry.truncated && entry.body.length ? `status ${code} documents no body` : null;
    if (!entry.body && !entry.truncated && (entry.method === 'HEAD' || entry.status === 204)) return null;
    if (!(media in content)) return `content type '${entry.content_type}' is not documented for ${code} (${Object.keys(content).join(', ')})`;
    if (!isJson || entry.truncated || entry.method === 'HEAD') return null;
    const b = parseBody();
    if (b.error) return b.error;
    const tkey = t.template.replace(/~/g, '~0').replace(/\//g, '~1');
    const ptr = pointer(['paths', t.template, opKey, 'responses', key]);
    let id = `${ptr}|${media}`;
    let v = validators.get(id);
    if (!v) {
      const resolvedRef = responses[key].$ref;
      const sp = resolvedRef
        ? [...resolvedRef.replace(/^#\//, '').split('/'), 'content', media, 'schema']
        : ['paths', t.template, opKey, 'responses', key, 'content', media, 'schema'];
      v = ajv.getSchema(pointer(sp.map((s) => s.replace(/~1/g, '/'))));
      validators.set(id, v);
      void tkey;
    }
    if (!v) return `no schema for ${id}`;
    return v(b.value) ? null : `body does not match: ${ajv.errorsText(v.errors, { dataVar: 'body' })}`;
  }

  return { check, findPath, doc };
}
