// Preload (`node -r ./test/helpers/hide-onnxruntime.js ...`) that makes onnxruntime-node
// unresolvable, as on a machine where it is not installed: require('onnxruntime-node') throws
// the error Node throws for a missing module (MODULE_NOT_FOUND, "Cannot find module ..." and
// the require stack).
'use strict';
const Module = require('module');

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === 'onnxruntime-node' || request.startsWith('onnxruntime-node/')) {
    const stack = [];
    for (let m = parent; m; m = m.parent) if (m.filename) stack.push(`- ${m.filename}`);
    const err = new Error(`Cannot find module '${request}'\nRequire stack:\n${stack.join('\n')}`);
    err.code = 'MODULE_NOT_FOUND';
    err.requireStack = stack.map((s) => s.slice(2));
    throw err;
  }
  return resolve.call(this, request, parent, ...rest);
};
