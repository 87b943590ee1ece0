-- Binary send/recv through COPY ... (FORMAT binary).

CREATE TABLE bin_src (id int, v pqvector);
INSERT INTO bin_src VALUES (1, '[1,2,3]'), (2, '[-0.5,1e-30,3.4028235e38]'), (3, NULL), (4, '[7]');
\copy bin_src TO 'results/pqvector_binary.bin' WITH (FORMAT binary)
CREATE TABLE bin_dst (id int, v pqvector);
\copy bin_dst FROM 'results/pqvector_binary.bin' WITH (FORMAT binary)
-- every value comes back bit for bit
SELECT s.id, s.v, d.v, s.v IS NOT DISTINCT FROM d.v AND s.v::text IS NOT DISTINCT FROM d.v::text AS same
  FROM bin_src s JOIN bin_dst d USING (id) ORDER BY id;
-- the typmod is enforced on binary input too
CREATE TABLE bin_dst3 (id int, v pqvector(3));
\copy bin_dst3 FROM 'results/pqvector_binary.bin' WITH (FORMAT binary)
SELECT count(*) FROM bin_dst3;

-- Hand-made wire messages: a bytea column copied out in binary has exactly the
-- bytes of its value, so copying that file into a pqvector column feeds those
-- bytes to pqvector_recv.  Layout: int16 dim, int16 reserved, float4 x dim.
CREATE TABLE bin_raw (b bytea);
CREATE TABLE bin_vec (v pqvector);
\set SHOW_CONTEXT never
-- [1,2]: valid
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x000200003f80000040000000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
SELECT v FROM bin_vec;
-- NaN
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x000100007fc00000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- +Infinity
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x000100007f800000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- -Infinity
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x00010000ff800000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- zero dimensions
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x000000003f800000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- negative dimensions
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\xffff00003f800000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- 16001 dimensions
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x3e8100003f800000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- reserved field not 0
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x000100013f800000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- fewer bytes than dimensions
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x000300003f80000040000000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- no elements at all
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x00010000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- truncated header
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x0001');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
-- trailing bytes
TRUNCATE bin_raw, bin_vec; INSERT INTO bin_raw VALUES ('\x000100003f80000040000000');
\copy bin_raw TO 'results/pqvector_recv.bin' WITH (FORMAT binary)
\copy bin_vec FROM 'results/pqvector_recv.bin' WITH (FORMAT binary)
DROP TABLE bin_src, bin_dst, bin_dst3, bin_raw, bin_vec;
