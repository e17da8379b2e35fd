#include "plugins/files_s3/s3_xml.hpp"

#include <gtest/gtest.h>

namespace {

namespace xml = happy::plugin::files_s3::xml;

TEST(s3_xml, reads_a_list_objects_v2_page) {
    const std::string doc = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>happy</Name><Prefix>sessions/s1/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>
<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
<Contents><Key>sessions/s1/a&amp;b.enc</Key><Size>3</Size></Contents>
<Contents><Key>sessions/s1/&#x3C;c&#62;</Key><Size>0</Size></Contents></ListBucketResult>)";
    EXPECT_EQ(xml::texts(doc, "Key"), (std::vector<std::string>{"sessions/s1/a&b.enc", "sessions/s1/<c>"}));
    EXPECT_EQ(xml::text(doc, "IsTruncated"), "true");
    EXPECT_EQ(xml::text(doc, "KeyCount"), "2");  // `Key` did not match `KeyCount`, nor the reverse
    EXPECT_EQ(xml::text(doc, "NextContinuationToken"), "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    EXPECT_EQ(xml::text(doc, "Missing"), "");
}

TEST(s3_xml, reads_errors_and_delete_results) {
    const std::string err = R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>x</BucketName></Error>)";
    EXPECT_EQ(xml::text(err, "Code"), "NoSuchBucket");
    EXPECT_EQ(xml::text(err, "Message"), "The specified bucket does not exist");
    const std::string del = R"(<DeleteResult><Deleted><Key>a</Key></Deleted><Deleted><Key>b</Key></Deleted>)"
                            R"(<Error><Key>c</Key><Code>AccessDenied</Code><Message>no</Message></Error><Deleted/></DeleteResult>)";
    EXPECT_EQ(xml::count(del, "Deleted"), 3u);
    EXPECT_EQ(xml::count(del, "DeleteResult"), 1u);
    auto errors = xml::texts(del, "Error");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(xml::text(errors[0], "Code"), "AccessDenied");
    EXPECT_EQ(xml::texts(del, "Deleted").size(), 3u);
}

TEST(s3_xml, escapes_text) {
    EXPECT_EQ(xml::escape(R"(a&b<c>"d'e)"), "a&amp;b&lt;c&gt;&quot;d&apos;e");
    EXPECT_EQ(xml::texts("<K>" + xml::escape("x&<>\"'y") + "</K>", "K").at(0), "x&<>\"'y");
}

}  // namespace
