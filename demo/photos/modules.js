// Where the demo's npm packages are: demo/photos/node_modules when someone
// ran `npm ci` here, else the directory scripts/photo_demo.sh installs them
// into (VQPQ_PHOTO_NODE_MODULES, default $VQPQ_PHOTO_CACHE/npm/node_modules,
// that is $VQPQ_CACHE/photo-demo/npm/node_modules),
// so that the tree itself carries no node_modules and test copies stay small.
'use strict';
const path = require('path');

const HINT = 'install them with `bash scripts/photo_demo.sh --install-only` ' +
	'(or `npm ci` in demo/photos)';

function searchPaths() {
	const cache = process.env.VQPQ_PHOTO_CACHE || path.join(process.env.VQPQ_CACHE || '/var/cache/vqpq', 'photo-demo');
	return [
		__dirname,
		process.env.VQPQ_PHOTO_NODE_MODULES && path.dirname(process.env.VQPQ_PHOTO_NODE_MODULES),
		path.join(cache, 'npm'),
	].filter(Boolean);
}

// need(name): require the package, or stop with a message that says what to install
function need(name) {
	let file;
	try {
		file = require.resolve(name, { paths: searchPaths() });
	} catch (e) {
		const err = new Error(`the npm package ${name} is not installed (looked in ` +
			`${searchPaths().map((p) => path.join(p, 'node_modules')).join(', ')}): ${HINT}`);
		err.code = 'VQPQ_MISSING_PACKAGE';
		throw err;
	}
	return require(file);
}

module.exports = { need, searchPaths };
