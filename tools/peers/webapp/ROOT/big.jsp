<%@ page session="false" trimDirectiveWhitespaces="true" %><%
  // big.jsp?bytes=N streams N bytes (default 1 MiB, at most 2^40), byte i being
  // ALPHABET[i % 64], flushed every chunk=K bytes (default 8192, 1..1048576). With length=1 a
  // Content-Length is sent; otherwise the response is chunked.
  final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  long n = 1L << 20;
  int chunk = 8192;
  try { n = Long.parseLong(String.valueOf(request.getParameter("bytes"))); } catch (NumberFormatException e) { n = 1L << 20; }
  try { chunk = Integer.parseInt(String.valueOf(request.getParameter("chunk"))); } catch (NumberFormatException e) { chunk = 8192; }
  n = Math.max(0L, Math.min(n, 1L << 40));
  chunk = Math.max(1, Math.min(chunk, 1 << 20));
  response.setContentType("application/octet-stream");
  if ("1".equals(request.getParameter("length"))) response.setContentLengthLong(n);
  byte[] block = new byte[64 * ((chunk + 63) / 64)];
  for (int i = 0; i < block.length; i++) block[i] = (byte) ALPHABET.charAt(i % 64);
  java.io.OutputStream o = response.getOutputStream();
  long sent = 0;
  while (sent < n) {
    int len = (int) Math.min((long) chunk, n - sent);
    // block starts at a multiple of 64 and every chunk but the last is `chunk` bytes long.
    int off = (int) (sent % 64);
    if (off + len > block.length) { o.write(block, off, block.length - off); o.write(block, 0, len - (block.length - off)); }
    else o.write(block, off, len);
    o.flush();
    sent += len;
  }
%>