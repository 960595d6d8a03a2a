-- PostGIS side of tests/tools/mvt_bench: the same features, the same tile
-- (14/13492/6208), extent 4096, buffer 64, clipping on. Geometries are stored
-- already in EPSG:3857 (PostGIS's best case; mapd projects from lon/lat on
-- every tile). Usage:
--   mvt_bench 5000 20 /tmp/dump && psql -v dir=/tmp/dump -f mvt_bench.sql
\set ON_ERROR_STOP on
CREATE EXTENSION IF NOT EXISTS postgis;
DROP TABLE IF EXISTS bench_points, bench_lines, bench_polygons;
CREATE TABLE bench_points (id int, category text, capacity int, name text, rating float8, wkt text);
CREATE TABLE bench_lines (LIKE bench_points);
CREATE TABLE bench_polygons (LIKE bench_points);
\set p :dir '/points.tsv'
\set l :dir '/lines.tsv'
\set g :dir '/polygons.tsv'
COPY bench_points FROM :'p';
COPY bench_lines FROM :'l';
COPY bench_polygons FROM :'g';
ALTER TABLE bench_points ADD COLUMN geom geometry;
ALTER TABLE bench_lines ADD COLUMN geom geometry;
ALTER TABLE bench_polygons ADD COLUMN geom geometry;
UPDATE bench_points SET geom = ST_Transform(ST_SetSRID(ST_GeomFromText(wkt), 4326), 3857);
UPDATE bench_lines SET geom = ST_Transform(ST_SetSRID(ST_GeomFromText(wkt), 4326), 3857);
UPDATE bench_polygons SET geom = ST_Transform(ST_SetSRID(ST_GeomFromText(wkt), 4326), 3857);

CREATE OR REPLACE FUNCTION bench_mvt(tbl text, runs int) RETURNS TABLE (layer text, features bigint,
    tile_bytes int, feat_per_s numeric) LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    bytes int;
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %I', tbl) INTO n;
    t0 := clock_timestamp();
    FOR i IN 1..runs LOOP
        EXECUTE format($q$
            SELECT length(ST_AsMVT(q, %L, 4096, 'geom', 'id')) FROM (
                SELECT id, category, capacity, name, rating,
                       ST_AsMVTGeom(geom, ST_TileEnvelope(14, 13492, 6208), 4096, 64, true) AS geom
                FROM %I) q$q$, tbl, tbl) INTO bytes;
    END LOOP;
    RETURN QUERY SELECT tbl, n, bytes,
        round(n * runs / extract(epoch FROM clock_timestamp() - t0)::numeric);
END $$;

SELECT * FROM bench_mvt('bench_points', 20);
SELECT * FROM bench_mvt('bench_lines', 20);
SELECT * FROM bench_mvt('bench_polygons', 20);

-- The encoder alone: ST_AsMVT over geometries already prepared by
-- ST_AsMVTGeom (compare with mvt_bench's "encode" column).
CREATE OR REPLACE FUNCTION bench_asmvt_only(tbl text, runs int) RETURNS TABLE (layer text,
    features bigint, tile_bytes int, feat_per_s numeric) LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    bytes int;
    n bigint;
BEGIN
    EXECUTE format($q$
        DROP TABLE IF EXISTS prepared; CREATE TEMP TABLE prepared AS
        SELECT id, category, capacity, name, rating,
               ST_AsMVTGeom(geom, ST_TileEnvelope(14, 13492, 6208), 4096, 64, true) AS geom
        FROM %I$q$, tbl);
    DELETE FROM prepared WHERE geom IS NULL;
    SELECT count(*) FROM prepared INTO n;
    t0 := clock_timestamp();
    FOR i IN 1..runs LOOP
        SELECT length(ST_AsMVT(q, 'layer', 4096, 'geom', 'id')) FROM (SELECT * FROM prepared) q
            INTO bytes;
    END LOOP;
    RETURN QUERY SELECT tbl, n, bytes,
        round(n * runs / extract(epoch FROM clock_timestamp() - t0)::numeric);
END $$;

SELECT * FROM bench_asmvt_only('bench_points', 20);
SELECT * FROM bench_asmvt_only('bench_lines', 20);
SELECT * FROM bench_asmvt_only('bench_polygons', 20);
