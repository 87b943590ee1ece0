// Edited copies of photos, the near-duplicates a photo collection collects:
// the search should bring each one's original back first.
//
//   node edit.js OUTDIR KIND FILE [KIND FILE ...]
//
// writes OUTDIR/<name>.<KIND>.jpg for each pair (kept when it is there
// already: the edits are deterministic) and prints copy <tab> original <tab>
// KIND per copy.  KIND is one of EDITS below.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { need } = require('./modules');

// Each edit starts from the photo with its EXIF orientation applied and any
// transparency flattened onto white, and is saved as a JPEG (quality 90,
// except where re-compression is the edit).
const EDITS = {
	// the central 80% of the width and height, as a re-framed copy
	crop: async (img, meta) => img.extract({
		left: Math.round(meta.width * 0.1), top: Math.round(meta.height * 0.1),
		width: Math.round(meta.width * 0.8), height: Math.round(meta.height * 0.8),
	}),
	// mirrored left to right
	flip: async (img) => img.flop(),
	// 30% brighter
	bright: async (img) => img.modulate({ brightness: 1.3 }),
	// re-compressed as a low-quality JPEG (quality 20)
	jpeg: async (img) => img,
	// shrunk to a thumbnail 160 pixels wide (half the width when that is less)
	resize: async (img, meta) => img.resize({ width: Math.min(160, Math.round(meta.width / 2)) }),
};
const QUALITY = { jpeg: 20 };

async function makeEdit(original, kind, out) {
	const sharp = need('sharp');
	if (!EDITS[kind]) throw new Error(`unknown edit ${kind} (known: ${Object.keys(EDITS).join(', ')})`);
	// decode once with orientation applied, so that sizes are those of the picture as seen
	const { data, info } = await sharp(original).rotate().flatten({ background: '#ffffff' })
		.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
	const img = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
	const edited = await EDITS[kind](img, info);
	const tmp = `${out}.tmp-${process.pid}`;
	await edited.jpeg({ quality: QUALITY[kind] || 90, mozjpeg: false }).toFile(tmp);
	fs.renameSync(tmp, out);
}

// OUTDIR/<base>-<hash>.<kind>.jpg, the hash of the original's path and of
// how the edit is made: two photos of one name stay apart, and a changed
// edit makes a new copy rather than reusing the old one
function copyName(outdir, original, kind) {
	const base = path.basename(original).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]+/g, '_');
	const recipe = `${EDITS[kind]} ${QUALITY[kind] || 90}`;
	const hash = crypto.createHash('sha1').update(`${path.resolve(original)}\0${recipe}`).digest('hex').slice(0, 8);
	return path.join(outdir, `${base}-${hash}.${kind}.jpg`);
}

async function main(argv) {
	const [outdir, ...pairs] = argv;
	if (!outdir || pairs.length === 0 || pairs.length % 2) {
		process.stderr.write(`usage: node edit.js OUTDIR KIND FILE [KIND FILE ...]; KIND: ${Object.keys(EDITS).join(', ')}\n`);
		process.exit(2);
	}
	fs.mkdirSync(outdir, { recursive: true });
	for (let i = 0; i < pairs.length; i += 2) {
		const [kind, original] = [pairs[i], pairs[i + 1]];
		const out = copyName(outdir, original, kind);
		if (!fs.existsSync(out)) {
			try {
				await makeEdit(original, kind, out);
			} catch (e) {
				throw new Error(`${original} (${kind}): ${e.message}`);
			}
		}
		process.stdout.write(`${out}\t${original}\t${kind}\n`);
	}
}

module.exports = { makeEdit, copyName, KINDS: Object.keys(EDITS) };

if (require.main === module) {
	main(process.argv.slice(2)).catch((e) => {
		process.stderr.write(`edit.js: ${e.message}\n`);
		process.exit(1);
	});
}
