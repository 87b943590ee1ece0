// Photo -> 1,280-d CNN embedding: the global-average-pooled features of Keras
// MobileNetV2 (layer flatten_1, the one before the classifier), with the
// weights that the npm package nsfwjs bundles, run by TensorFlow.js on its
// WebAssembly backend; sharp (libvips) decodes and resizes the image.  No
// network: the weights and the .wasm files come inside the packages.
//
// The network was fine-tuned by nsfwjs to sort images into five content
// categories, so its features are general-purpose but not state of the art.
//
//   const { createEmbedder } = require('./embed');
//   const embedder = await createEmbedder();
//   const vector = await embedder.embedFile('photo.jpg');   // Float32Array(1280)
//
// As a program: node embed.js FILE... (or file names on stdin, one a line)
// prints one line per file, FILE <tab> milliseconds <tab> [v1,v2,...], the
// vector in pqvector's text form; a file that is not an image stops it with
// an error naming the file.
'use strict';
const fs = require('fs');
const path = require('path');
const { need, searchPaths } = require('./modules');

const SIZE = 224;          // MobileNetV2's input
const DIMS = 1280;
const LAYER = 'flatten_1';
const MODEL = 'nsfwjs 4.4.0 MobileNetV2 flatten_1, sharp full decode, fill 224x224';

let tf;                     // loaded once per process: TensorFlow.js keeps global state

async function loadTf() {
	if (tf) return tf;
	tf = need('@tensorflow/tfjs');
	// one thread, so that nothing about the vectors depends on the machine's
	// cores (two gave the same vectors here, and no more speed in Node)
	const wasm = need('@tensorflow/tfjs-backend-wasm');
	if (wasm.setThreadsCount) wasm.setThreadsCount(1);
	if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js wasm backend did not start');
	await tf.ready();
	return tf;
}

// The image as SIZE x SIZE RGB bytes: EXIF orientation applied, transparency
// flattened onto white, stretched to the square as nsfwjs itself does (the
// whole picture counts, not a centre crop).
async function pixels(input) {
	const sharp = need('sharp');
	let img;
	try {
		// decoded in full first: a decoder's shrink-on-load (JPEG, WebP) would
		// make the vector depend on the file format, not only on the pixels
		const full = await sharp(input, { failOn: 'error' })
			.rotate()
			.flatten({ background: '#ffffff' })
			.toColourspace('srgb')
			.raw()
			.toBuffer({ resolveWithObject: true });
		img = await sharp(full.data, { raw: full.info })
			.resize(SIZE, SIZE, { fit: 'fill', kernel: 'lanczos3' })
			.removeAlpha()
			.raw()
			.toBuffer({ resolveWithObject: true });
	} catch (e) {
		const name = typeof input === 'string' ? input : 'the image';
		throw new Error(`${name}: cannot read it as an image (${e.message})`);
	}
	const { data, info } = img;
	if (info.channels !== 3 || info.width !== SIZE || info.height !== SIZE)
		throw new Error(`unexpected decoded shape ${info.width}x${info.height}x${info.channels}`);
	return data;
}

// nsfwjs's MobileNetV2 files as TensorFlow.js model artifacts.  They are
// browserify bundles of the model JSON and of the weights in base64; read
// here rather than through nsfwjs.load('MobileNetV2'), whose loader copies
// the 3.4 MB base64 string key by key (5 of its 6 seconds).  Same bytes,
// same vectors.
function artifacts() {
	const dir = path.join(path.dirname(require.resolve('nsfwjs', { paths: searchPaths() })),
		'..', 'models', 'mobilenet_v2');
	const json = require(path.join(dir, 'model.min.js'));
	const weights = json.weightsManifest.flatMap((group) => group.paths.map((p) => {
		const base64 = require(path.join(dir, `${p}.min.js`));
		if (typeof base64 !== 'string') throw new Error(`${dir}/${p}.min.js: not the base64 weights nsfwjs 4.4.0 ships`);
		return Buffer.from(base64, 'base64');
	}));
	const data = Buffer.concat(weights);
	return {
		modelTopology: json.modelTopology,
		format: json.format,
		generatedBy: json.generatedBy,
		convertedBy: json.convertedBy,
		weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
		weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
	};
}

async function createEmbedder() {
	await loadTf();
	const nsfwjs = need('nsfwjs');
	const started = process.hrtime.bigint();
	const model = await nsfwjs.load({ load: async () => artifacts() }, { size: SIZE });
	const loadMs = Number(process.hrtime.bigint() - started) / 1e6;

	async function embed(input) {
		const rgb = await pixels(input);
		const out = tf.tidy(() => {
			const image = tf.tensor3d(rgb, [SIZE, SIZE, 3], 'int32');
			return model.infer(image, LAYER);     // divides by 255, as the network was trained
		});
		const vector = await out.data();
		out.dispose();
		if (vector.length !== DIMS) throw new Error(`layer ${LAYER} gave ${vector.length} values, not ${DIMS}`);
		return Float32Array.from(vector);
	}

	return {
		loadMs,
		embedFile(file) {
			if (!fs.existsSync(file)) return Promise.reject(new Error(`${file}: no such file`));
			return embed(file);
		},
		embedBuffer: embed,
		// nsfwjs disposes the layers shared by its sub-model twice: once is enough
		dispose() { try { model.dispose(); } catch (e) { /* already disposed */ } },
	};
}

// pqvector's text form; every float32 is printed exactly (JS prints the
// shortest decimal of its double, which reads back as the same float32)
function toText(vector) {
	return '[' + Array.from(vector).join(',') + ']';
}

async function main(argv) {
	let files = argv;
	if (files.length === 0) files = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean);
	if (files.length === 0 || files[0] === '--help') {
		process.stderr.write('usage: node embed.js FILE... (or file names on stdin)\n');
		process.exit(2);
	}
	// a missing file is known before the model loads
	for (const file of files) if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
	const embedder = await createEmbedder();
	process.stderr.write(`model loaded in ${embedder.loadMs.toFixed(0)} ms (${MODEL})\n`);
	for (const file of files) {
		const t0 = process.hrtime.bigint();
		const vector = await embedder.embedFile(file);
		const ms = Number(process.hrtime.bigint() - t0) / 1e6;
		process.stdout.write(`${file}\t${ms.toFixed(1)}\t${toText(vector)}\n`);
	}
	embedder.dispose();
}

module.exports = { createEmbedder, toText, SIZE, DIMS, LAYER, MODEL };

if (require.main === module) {
	main(process.argv.slice(2)).catch((e) => {
		process.stderr.write(`embed.js: ${e.message}\n`);
		process.exit(1);
	});
}
