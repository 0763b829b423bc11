<%@ page session="false" trimDirectiveWhitespaces="true" %><%
  // body.jsp echoes the request body byte for byte, with the request's Content-Type and a
  // Content-Length. ?stream=1 streams it back as it arrives instead (chunked, no length).
  String ct = request.getContentType();
  response.setContentType(ct == null ? "application/octet-stream" : ct);
  response.setHeader("X-Request-Content-Length", String.valueOf(request.getContentLengthLong()));
  java.io.InputStream in = request.getInputStream();
  byte[] b = new byte[65536];
  int r;
  if ("1".equals(request.getParameter("stream"))) {
    java.io.OutputStream o = response.getOutputStream();
    while ((r = in.read(b)) >= 0) { o.write(b, 0, r); o.flush(); }
  } else {
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    while ((r = in.read(b)) >= 0) buf.write(b, 0, r);
    response.setContentLengthLong(buf.size());
    buf.writeTo(response.getOutputStream());
  }
%>